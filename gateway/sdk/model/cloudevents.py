"""CloudEvents 1.0 structured-mode JSON for Navet events.

``data`` carries the whole Navet envelope except the attributes CloudEvents
already has (id, type, time), so a consumer can rebuild the event exactly.
The tenant, resident, device and alarm are repeated as extension attributes
so brokers and routers can filter without parsing ``data``.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ContractError
from .common import CONTRACT_VERSION
from .events import EventBase, validate_event

SPECVERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
_MAJOR = CONTRACT_VERSION.split(".")[0]


def dataschema(event_type: str) -> str:
    """The URN of the JSON Schema in contracts/ that describes this type's ``data``."""
    return f"urn:navet:contract:v{_MAJOR}:{event_type}"


def to_cloudevent(event: EventBase) -> dict[str, Any]:
    """Serialise ``event`` as a CloudEvents 1.0 structured JSON object."""
    body = event.model_dump(mode="json", exclude={"id", "type", "time"})
    ce: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event.id,
        "source": f"/navet/{event.tenant}/{event.source.adapter}",
        "type": event.type,
        "time": body_time(event),
        "datacontenttype": "application/json",
        "dataschema": dataschema(event.type),
        "subject": event.device.id if event.device else (event.resident or event.tenant),
        "navettenant": event.tenant,
        "data": body,
    }
    if event.resident:
        ce["navetresident"] = event.resident
    if event.alarm:
        ce["navetalarm"] = event.alarm
    if event.priority:
        ce["navetpriority"] = str(event.priority)
    return ce


def stored_cloudevent(stored: str | bytes) -> dict[str, Any]:
    """:func:`to_cloudevent` of an event from the JSON the store wrote for it.

    Serialise once: the store writes each event's JSON when it commits it; a live
    stream sends that JSON on, rearranged as a CloudEvent, instead of validating it
    into a model again and serialising the model anew for every client. The result
    is equal to ``to_cloudevent`` of the stored event (a test checks every type).
    """
    body = json.loads(stored)
    event_id, event_type, time = body.pop("id"), body.pop("type"), body.pop("time")
    device, resident, tenant = body.get("device"), body.get("resident"), body["tenant"]
    ce: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": event_id,
        "source": f"/navet/{tenant}/{body['source']['adapter']}",
        "type": event_type,
        "time": time.replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": dataschema(event_type),
        "subject": device["id"] if device else (resident or tenant),
        "navettenant": tenant,
        "data": body,
    }
    if resident:
        ce["navetresident"] = resident
    if body.get("alarm"):
        ce["navetalarm"] = body["alarm"]
    if body.get("priority"):
        ce["navetpriority"] = body["priority"]
    return ce


def body_time(event: EventBase) -> str:
    return event.time.isoformat().replace("+00:00", "Z")


def from_cloudevent(ce: dict[str, Any]) -> EventBase:
    """Rebuild a Navet event from its CloudEvents form.

    :raises ContractError: if it is not a Navet v1 CloudEvent.
    """
    if ce.get("specversion") != SPECVERSION:
        raise ContractError(f"not a CloudEvents {SPECVERSION} event: {ce.get('specversion')!r}")
    data = ce.get("data")
    if not isinstance(data, dict):
        raise ContractError("CloudEvent has no object 'data' with the Navet envelope")
    return validate_event(
        {**data, "id": ce.get("id"), "type": ce.get("type"), "time": ce.get("time")})
