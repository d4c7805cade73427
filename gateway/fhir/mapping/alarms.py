"""An alarm is a Task; each of its transitions is a Provenance naming who and when.

=============  ===============  ====================
Navet state    Task.status      Task.businessStatus
=============  ===============  ====================
raised         requested        raised
acknowledged   accepted         acknowledged
dispatched     in-progress      dispatched
attended       in-progress      attended
closed         completed        closed (+ output: outcome)
cancelled      cancelled        cancelled
=============  ===============  ====================

``Task.relevantHistory`` lists the Provenance of every stored event of the
alarm (raised, updated, escalated ... closed) in order; a Provenance's id is
the event's id, so it is stable and can be read at any time.
"""

from __future__ import annotations

from typing import Any

from gateway.sdk.alarms import AlarmView
from gateway.sdk.model import EventBase, Priority

from ..codes import ALARM_TRANSITIONS, PROVENANCE_PARTICIPANT
from ..ids import alarm_location_id, ref
from .common import (
    actor,
    base,
    coding,
    concept,
    device,
    home,
    meta,
    organization,
    patient,
    source_actor,
    ts,
)

TASK_STATUS = {
    "raised": "requested",
    "acknowledged": "accepted",
    "dispatched": "in-progress",
    "attended": "in-progress",
    "closed": "completed",
    "cancelled": "cancelled",
}
TASK_PRIORITY = {
    Priority.CRITICAL: "stat",
    Priority.HIGH: "asap",
    Priority.NORMAL: "urgent",
    Priority.LOW: "routine",
}


def alarm_id(event: EventBase) -> str:
    """The alarm an alarm event belongs to (a raise without ``alarm`` starts its own)."""
    return event.alarm or event.id


def task(record: AlarmView) -> dict[str, Any]:
    """The Task for one alarm, folded from its stored events."""
    if record.state is None:
        raise ValueError(f"alarm {record.id} has no alarm.raised; it cannot be a Task")
    history = record.history
    last = history[-1]
    out = base("Task", record.id)
    out["meta"] = meta(last.received or last.time, version=len(history))
    out["identifier"] = [{"system": "urn:navet:alarm", "value": record.id}]
    out["status"] = TASK_STATUS[record.state]
    out["businessStatus"] = concept("alarm-state", str(record.state))
    out["intent"] = "order"
    out["priority"] = TASK_PRIORITY[record.priority or Priority.NORMAL]
    if record.kind:
        out["code"] = concept("alarm-kind", record.kind)
    raised = next((ev for ev in history if ev.type == "alarm.raised"), None)
    if raised is not None and raised.data.text:  # type: ignore[attr-defined]
        out["description"] = raised.data.text  # type: ignore[attr-defined]
    if record.device is not None:
        out["focus"] = device(record.device.id)
    if record.resident:
        out["for"] = patient(record.resident)
    if record.location is not None and record.location.point is not None:
        out["location"] = ref("Location", alarm_location_id(record.id))  # e.g. a GPS alarm
    elif record.resident:
        out["location"] = home(record.resident)
    if record.raised:
        out["authoredOn"] = ts(record.raised)
    out["lastModified"] = ts(last.time)
    period: dict[str, str] = {}
    for ev in history:
        if ev.type == "alarm.acknowledged" and "start" not in period:
            period["start"] = ts(ev.time)
        if ev.type in ("alarm.closed", "alarm.cancelled") \
                and record.state in ("closed", "cancelled"):
            period["end"] = ts(ev.time)
    if period:
        out["executionPeriod"] = period
    if record.state == "cancelled":
        cancel = next(ev for ev in history if ev.type == "alarm.cancelled")
        reason = cancel.data.reason  # type: ignore[attr-defined]
        out["statusReason"] = {"concept": {"text": f"cancelled: {reason}"}}  # CodeableReference
    tenant = record.tenant
    if record.acknowledged_by is not None:
        owner = actor(tenant, record.acknowledged_by)
        if _is_person(owner):
            out["owner"] = owner
    performers = [actor(tenant, a) for a in record.dispatched_to]
    if record.attended_by is not None:
        performers.append(actor(tenant, record.attended_by))
    unique = []
    for p in performers:
        if _is_person(p) and p not in unique:
            unique.append(p)
    if unique:
        out["performer"] = [{"actor": p} for p in unique]
    if record.outcome:
        out["output"] = [{"type": {"text": "outcome"},
                          "valueCodeableConcept": concept("alarm-outcome", record.outcome)}]
    # Notes: what arrived later (alarm.updated: operator notes, repeats) and the close note.
    notes = [{"text": text, "time": ts(ev.time)} for ev in history
             if ev.type in ("alarm.updated", "alarm.closed")
             and (text := getattr(ev.data, "text", None) or getattr(ev.data, "note", None))]
    if notes:
        out["note"] = notes
    out["relevantHistory"] = [ref("Provenance", ev.id) for ev in history]
    return out


def alarm_location(record: AlarmView) -> dict[str, Any] | None:
    """Where the alarm happened, when a position is known (GPS alarms): a Location."""
    where = record.location
    if where is None or where.point is None:
        return None
    last = record.history[-1]
    out = base("Location", alarm_location_id(record.id))
    out["meta"] = meta(last.received or last.time)
    out["status"] = "active"
    out["name"] = f"Position of alarm {record.id}"
    if where.text:
        out["description"] = where.text
    out["mode"] = "instance"
    out["position"] = {"latitude": where.point.lat, "longitude": where.point.lon}
    out["managingOrganization"] = organization(record.tenant)
    return out


def _is_person(reference: dict[str, Any]) -> bool:
    """Task.owner and Task.performer may not point to a Device."""
    target = reference.get("type") or str(reference.get("reference", "")).split("/")[0]
    return target != "Device"


def provenance(event: EventBase) -> dict[str, Any]:
    """Who made one alarm transition, and when."""
    if event.type not in ALARM_TRANSITIONS:
        raise ValueError(f"{event.type} is not an alarm transition")
    out = base("Provenance", event.id, event)
    out["target"] = [ref("Task", alarm_id(event))]
    out["occurredDateTime"] = ts(event.time)
    out["recorded"] = ts(event.received or event.time)
    out["activity"] = concept("alarm-transition", ALARM_TRANSITIONS[event.type])
    if event.resident:
        out["patient"] = patient(event.resident)
    by = getattr(event.data, "by", None)
    who = actor(event.tenant, by) if by is not None else source_actor(event)
    agents = [{"type": {"coding": [coding(PROVENANCE_PARTICIPANT, "author")]}, "who": who}]
    to = getattr(event.data, "to", None)
    if event.type == "alarm.dispatched" and to is not None:
        agents.append({"type": {"coding": [coding(PROVENANCE_PARTICIPANT, "performer")]},
                       "who": actor(event.tenant, to)})
    out["agent"] = agents
    return out
