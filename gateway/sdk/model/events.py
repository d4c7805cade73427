"""The event envelope and the v1 event type catalogue.

Every event is one pydantic model per type, all sharing :class:`EventBase`;
``Event`` is their discriminated union on ``type``. Build events with
:func:`make_event`, which derives the deterministic id.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import AwareDatetime, Field, TypeAdapter, ValidationError, create_model

from ..errors import ContractError
from . import bodies as b
from .common import DeviceRef, Location, Priority, Pseudonym, SourceRef, Strict, TenantId

NAVET_NAMESPACE = uuid.UUID("6f1c7d2e-3b0a-5c4e-9a57-6e6176657431")
"""UUID namespace for event ids (uuid5): same source reference in, same id out."""


class EventBase(Strict):
    """The envelope every event carries. ``data`` is typed per event type."""

    id: str = Field(description="Deterministic from the source; the same input gives the same id.")
    type: str
    time: AwareDatetime = Field(description="When it happened at the device.")
    received: AwareDatetime | None = Field(
        default=None, description="When Navet stored it; set by the gateway, not by adapters."
    )
    tenant: TenantId
    resident: Pseudonym | None = None
    device: DeviceRef | None = None
    source: SourceRef
    alarm: str | None = Field(
        default=None, max_length=128, description="The alarm this event belongs to, if any."
    )
    priority: Priority | None = None
    location: Location | None = None
    data: Strict


CATALOGUE: dict[str, tuple[type[Strict], str]] = {
    "alarm.raised": (b.AlarmRaised, "An alarm was raised by a resident, a sensor or Navet."),
    "alarm.updated": (b.AlarmUpdated, "More information arrived for an open alarm."),
    "alarm.cancelled": (b.AlarmCancelled, "The alarm was cancelled before it was handled."),
    "alarm.acknowledged": (b.AlarmAcknowledged, "A receiver took responsibility for the alarm."),
    "alarm.escalated": (b.AlarmEscalated, "Not acknowledged in time; sent to the next receiver."),
    "alarm.dispatched": (b.AlarmDispatched, "Staff were sent to the resident."),
    "alarm.attended": (b.AlarmAttended, "Staff are with the resident."),
    "alarm.closed": (b.AlarmClosed, "The alarm is handled, with an outcome."),
    "device.heartbeat": (b.DeviceHeartbeat, "The device is alive. Kept as last-seen only."),
    "device.online": (b.DeviceOnline, "A device that was silent or offline is back."),
    "device.offline": (b.DeviceOffline, "The device went offline."),
    "device.battery": (b.DeviceBattery, "Battery level or low-battery state."),
    "device.fault": (b.DeviceFault, "A technical fault started or cleared."),
    "device.tamper": (b.DeviceTamper, "Tamper switch or cover opened or closed."),
    "sensor.reported": (b.SensorReported, "A passive sensor reported its readings."),
    "position.reported": (b.PositionReported, "A position fix from a GPS device."),
    "lock.unlocked": (b.LockChanged, "A door lock was unlocked."),
    "lock.locked": (b.LockChanged, "A door lock was locked."),
    "lock.denied": (b.LockDenied, "An unlock was refused, by the lock or by Navet's policy."),
    "lock.jammed": (b.Empty, "The lock could not move its bolt."),
    "medication.dose_due": (b.Dose, "A dose is due now."),
    "medication.dose_dispensed": (b.Dose, "The dispenser released the dose."),
    "medication.dose_taken": (b.Dose, "The resident took the dose out."),
    "medication.dose_missed": (b.Dose, "The dose was not taken within its window."),
    "medication.refill_needed": (b.RefillNeeded, "The dispenser is running out."),
    "supervision.started": (b.SupervisionStarted, "A camera supervision session started."),
    "supervision.ended": (b.SupervisionEnded, "A camera supervision session ended."),
    "supervision.refused": (b.SupervisionRefused, "A session was refused by policy."),
    "supervision.observation": (b.SupervisionObservation, "What staff observed in a check."),
    "camera.privacy": (b.CameraPrivacy, "A supervision camera's privacy state changed."),
    "visit.requested": (b.VisitRequested, "An extra visit is asked of the home-care team."),
}
"""Event type -> (data model, one-line meaning). Extend, never repurpose."""


def _class_name(event_type: str) -> str:
    return "".join(part.capitalize() for part in event_type.replace("_", ".").split(".")) + "Event"


EVENT_MODELS: dict[str, type[EventBase]] = {
    event_type: create_model(  # type: ignore[call-overload]  # dynamic, one class per type
        _class_name(event_type),
        __base__=EventBase,
        __doc__=doc,
        type=(Literal[event_type], event_type),
        data=(body, ...),
    )
    for event_type, (body, doc) in CATALOGUE.items()
}

Event = Annotated[
    Union[tuple(EVENT_MODELS.values())],  # type: ignore[valid-type]  # noqa: UP007 (built from the catalogue at run time)
    Field(discriminator="type"),
]
EventAdapter: TypeAdapter[EventBase] = TypeAdapter(Event)

ALARM_TYPES = frozenset(t for t in CATALOGUE if t.startswith("alarm."))


_NAMESPACE_BYTES = NAVET_NAMESPACE.bytes


def event_id(*parts: str | None) -> str:
    """Deterministic event id from the source reference parts (adapter, device, ref, type).

    The uuid5 of the parts joined by ``\\x1f`` in :data:`NAVET_NAMESPACE`, exactly what
    ``str(uuid.uuid5(NAVET_NAMESPACE, name))`` gives, computed without building a
    ``UUID`` object (every adapter event pays for it; a test checks they agree)."""
    digest = hashlib.sha1(
        _NAMESPACE_BYTES + "\x1f".join(p or "" for p in parts).encode(), usedforsecurity=False
    ).digest()
    h = digest[:6].hex() + f"{(digest[6] & 0x0F) | 0x50:02x}" + digest[7:8].hex() \
        + f"{(digest[8] & 0x3F) | 0x80:02x}" + digest[9:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def validate_event(raw: Mapping[str, Any] | EventBase) -> EventBase:
    """Validate a mapping (or re-validate an event) against contract v1.

    :raises ContractError: naming the type and every field that is wrong.
    """
    payload = raw.model_dump(mode="json") if isinstance(raw, EventBase) else raw
    try:
        return EventAdapter.validate_python(payload)
    except ValidationError as err:
        kind = str(payload.get("type", "?")) if isinstance(payload, Mapping) else "?"
        raise ContractError(_describe(kind, err)) from err


def make_event(
    event_type: str,
    *,
    tenant: str,
    time: datetime,
    source: SourceRef | Mapping[str, Any],
    data: Mapping[str, Any] | Strict,
    device: DeviceRef | Mapping[str, Any] | None = None,
    resident: str | None = None,
    alarm: str | None = None,
    priority: Priority | str | None = None,
    location: Location | Mapping[str, Any] | None = None,
    id: str | None = None,  # the contract field is called id
    id_parts: tuple[str | None, ...] = (),
) -> EventBase:
    """Build and validate one event.

    The id is derived from the source adapter, the device, the source ref,
    ``id_parts`` and the type, unless ``id`` is given. Adapters pass the
    vendor's message id or protocol reference as ``source.ref`` so that a
    frame delivered twice yields the same id.

    :raises ContractError: if the result is not a valid v1 event.
    """
    model = EVENT_MODELS.get(event_type)
    if model is None:
        raise ContractError(f"unknown event type {event_type!r}; see contracts/events/")
    if id is None:
        id = event_id(_part(source, "adapter"), _part(device, "id"), _part(source, "ref"),
                      *id_parts, event_type)
    payload: dict[str, Any] = {
        "id": id,
        "type": event_type,
        "time": time,
        "tenant": tenant,
        "resident": resident,
        "device": device,
        "source": source,
        "alarm": alarm,
        "priority": priority,
        "location": location,
        "data": data,
    }
    # One validation of the whole event against its own model (the type is known, so no
    # union dispatch). Parts that already are the contract's models are taken as they
    # are (pydantic does not validate an instance again); another model is dumped and
    # validated as what this field expects.
    for key in ("device", "source", "location", "data"):
        value = payload[key]
        if isinstance(value, Strict) and not isinstance(value, _FIELD_TYPES[event_type][key]):
            payload[key] = value.model_dump()
    try:
        return model.model_validate(payload)
    except ValidationError as err:
        raise ContractError(_describe(event_type, err, tagged=False)) from err


def _part(value: Any, name: str) -> str | None:
    """A part of the event id from a source/device given as a mapping or a model. A value
    that is not text makes an id no event will have: validation refuses it anyway."""
    if value is None:
        return None
    got = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
    return got if got is None or isinstance(got, str) else repr(got)


def _field_types(model: type[EventBase]) -> dict[str, type]:
    out: dict[str, type] = {"device": DeviceRef, "source": SourceRef, "location": Location}
    data = model.model_fields["data"].annotation
    out["data"] = data if isinstance(data, type) else Strict
    return out


_FIELD_TYPES: dict[str, dict[str, type]] = {
    event_type: _field_types(model) for event_type, model in EVENT_MODELS.items()
}


def _describe(event_type: str, err: ValidationError, *, tagged: bool = True) -> str:
    """One readable line naming every field that is wrong. ``tagged``: the error came from
    the union of event types, whose locations start with the type."""
    skip = 1 if tagged else 0
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'][skip:]) or (e['loc'][0] if e['loc'] else 'event')}"
        f": {e['msg']}" for e in err.errors()
    )
    return f"event of type {event_type!r} breaks contract v1: {problems}"
