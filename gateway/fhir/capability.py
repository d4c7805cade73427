"""The CapabilityStatement: exactly what the facade supports, generated from the code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway import __version__

from .checks import validate
from .codes import RESOURCE_TYPES
from .mapping.common import ts
from .search import search_params

EVENT_MESSAGE_OP = "urn:navet:fhir:OperationDefinition:event-message"
WS_TOKEN_OP = "http://hl7.org/fhir/OperationDefinition/Subscription-get-ws-binding-token"
STATUS_OP = "http://hl7.org/fhir/OperationDefinition/Subscription-status"
EVENTS_OP = "http://hl7.org/fhir/OperationDefinition/Subscription-events"


def _resource(rtype: str, interactions: list[str], params: list[tuple[str, str, str]],
              **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": rtype,
                           "interaction": [{"code": c} for c in interactions]}
    if params:
        out["searchParam"] = [{"name": n, "type": t, "documentation": d} for n, t, d in params]
    out.update(extra)
    return out


def capability_statement(base: str, now: datetime) -> dict[str, Any]:
    resources = [_resource(t, ["read", "search-type"], search_params(t)) for t in RESOURCE_TYPES]
    resources.append(_resource(
        "Subscription", ["create", "read", "search-type"],
        [("_id", "token", "Logical id."), ("status", "token", "Subscription.status.")],
        operation=[{"name": "get-ws-binding-token", "definition": WS_TOKEN_OP},
                   {"name": "status", "definition": STATUS_OP},
                   {"name": "events", "definition": EVENTS_OP}],
    ))
    resources.append(_resource("SubscriptionTopic", ["read", "search-type"],
                               [("_id", "token", "Logical id.")]))
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": ts(now),
        "publisher": "Navet",
        "kind": "instance",
        "software": {"name": "Navet", "version": __version__},
        "implementation": {"description": "Navet FHIR R5 facade (read-only views of Navet "
                                          "events and care data, topic-based subscriptions)",
                           "url": base},
        "fhirVersion": "5.0.0",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Every request names its tenant (municipality) with ?tenant=; "
                             "a request sees only that tenant's data. Search results are in "
                             "store order (oldest first); page with _count and _offset.",
            "resource": resources,
            "operation": [{"name": "event-message", "definition": EVENT_MESSAGE_OP,
                           "documentation": "GET [base]/$event-message?event=<Navet event id>: "
                                            "the event as a FHIR message Bundle."}],
        }],
    }
    return validate(statement)
