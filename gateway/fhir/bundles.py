"""Bundles the facade answers with (searchset, message) and OperationOutcome."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from gateway import __version__
from gateway.sdk.model import EventBase

from .checks import Issue, validate
from .codes import cs
from .mapping.common import organization, ts

FHIR_JSON = "application/fhir+json"


def operation_outcome(issues: Iterable[Issue | tuple[str, str]], *,
                      severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue per problem (``(code, text)`` or :class:`Issue`)."""
    out = []
    for issue in issues:
        if isinstance(issue, Issue):
            out.append({"severity": severity, "code": issue.code,
                        "diagnostics": str(issue), "expression": [issue.path]})
        else:
            code, text = issue
            out.append({"severity": severity, "code": code, "diagnostics": text})
    return validate({"resourceType": "OperationOutcome", "issue": out})


def searchset(base: str, resource_type: str, resources: list[dict[str, Any]],
              params: Mapping[str, Any], *, offset: int, count: int, more: bool,
              total: int | None) -> dict[str, Any]:
    """A searchset Bundle with self/first/previous/next links that keep every parameter."""

    def link(relation: str, at: int) -> dict[str, str]:
        query = {k: v for k, v in params.items() if k not in ("_offset", "_count")}
        query.update({"_count": count, "_offset": at})
        return {"relation": relation,
                "url": f"{base}/{resource_type}?{urlencode(query, doseq=True)}"}

    links = [link("self", offset), link("first", 0)]
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    if more:
        links.append(link("next", offset + count))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = links
    bundle["entry"] = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r,
                        "search": {"mode": "match"}} for r in resources]
    return validate(bundle)


def message(base: str, tenant: str, event: EventBase, resources: list[dict[str, Any]],
            now: datetime, context: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """A FHIR message for one event: MessageHeader first, then what the event is about.

    The header's ``eventCoding`` is the Navet event type; ``focus`` names the
    resources the event became; ``context`` (the Patient, Device and home
    Location they point to) follows, so the message stands on its own.
    """
    header_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"navet:{tenant}:message:{event.id}"))
    header = {
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": {"system": cs("event-type"), "code": event.type},
        "sender": organization(tenant),
        "source": {"name": "Navet", "software": "Navet", "version": __version__,
                   "endpointUrl": base},
        "focus": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources],
    }
    entries = [header, *resources, *context]
    bundle = {
        "resourceType": "Bundle",
        "id": header_id,
        "identifier": {"system": "urn:navet:message", "value": event.id},
        "type": "message",
        "timestamp": ts(now),
        "entry": [{"fullUrl": f"urn:uuid:{header_id}", "resource": header}] + [
            {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in entries[1:]],
    }
    return validate(bundle)
