"""CloudEvents 1.0 structured-mode JSON for Navet events.

``data`` carries the whole Navet envelope except the attributes CloudEvents
already has (id, type, time), so a consumer can rebuild the event exactly.
The tenant, resident, device and alarm are repeated as extension attributes
so brokers and routers can filter without parsing ``data``.
"""

from __future__ import annotations

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
