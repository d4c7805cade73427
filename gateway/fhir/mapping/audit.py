"""Door openings and camera viewings as AuditEvents; camera checks as Encounters.

An AuditEvent is the access trail (who opened which door, who looked through
which camera, what was refused). A camera check is also an Encounter of class
``VR`` (virtual) whose ``actualPeriod`` and ``length`` say how long it lasted;
its id is the session id, and the viewing's AuditEvent points to it.
Nothing here ever carries an image: Navet never stores or forwards one.
"""

from __future__ import annotations

from typing import Any

from gateway.sdk.model import EventBase

from ..codes import ISSUE_SEVERITY, UCUM, V3_ACT_CODE
from ..ids import ref
from .common import actor, base, coding, concept, device, home, patient, source_actor, staff, ts

LOCK_CODES = {"lock.unlocked": "unlock", "lock.locked": "lock", "lock.denied": "access-denied",
              "lock.jammed": "jammed"}
AUDIT_TYPES = (*LOCK_CODES, "supervision.started", "supervision.refused")


def _outcome(ok: bool, detail: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": coding(ISSUE_SEVERITY, "success" if ok else "error")}
    if detail:
        out["detail"] = [{"text": detail}]
    return out


def _observer(event: EventBase) -> dict[str, Any]:
    return source_actor(event)


def lock_audit(event: EventBase) -> dict[str, Any]:
    d: Any = event.data
    out = base("AuditEvent", event.id, event)
    out["code"] = concept("audit-event", LOCK_CODES[event.type])
    out["category"] = [concept("audit-category", "physical-access")]
    out["action"] = "E"
    out["occurredDateTime"] = ts(event.time)
    out["recorded"] = ts(event.received or event.time)
    ok = event.type in ("lock.unlocked", "lock.locked")
    out["outcome"] = _outcome(ok, getattr(d, "reason", None) or (None if ok else "lock jammed"))
    if event.resident:
        out["patient"] = patient(event.resident)
    by = getattr(d, "by", None)
    agent: dict[str, Any] = {"who": actor(event.tenant, by) if by else _observer(event),
                             "requestor": by is not None}
    if event.resident:
        agent["location"] = home(event.resident)
    out["agent"] = [agent]
    out["source"] = {"observer": _observer(event)}
    entity: dict[str, Any] = {}
    if event.resident:
        entity["what"] = home(event.resident)
    details: list[dict[str, Any]] = []
    method = getattr(d, "method", None)
    if method is not None:
        details.append({"type": {"text": "lock-method"},
                        "valueCodeableConcept": concept("lock-method", str(method))})
    if event.source.ref:
        details.append({"type": {"text": "vendor-event-id"}, "valueString": event.source.ref})
    if details:
        entity["detail"] = details
    if entity:
        out["entity"] = [entity]
    return out


def camera_audit(started: EventBase, ended: EventBase | None = None) -> dict[str, Any]:
    """One viewing (``supervision.started``, with its end when known) or one refusal."""
    d: Any = started.data
    refused = started.type == "supervision.refused"
    out = base("AuditEvent", started.id, ended or started)
    out["code"] = concept("audit-event", "camera-view-refused" if refused else "camera-view")
    out["category"] = [concept("audit-category", "camera-supervision")]
    out["action"] = "R"
    if ended is not None:
        out["occurredPeriod"] = {"start": ts(started.time), "end": ts(ended.time)}
    else:
        out["occurredDateTime"] = ts(started.time)
    out["recorded"] = ts(started.received or started.time)
    out["outcome"] = _outcome(not refused, d.reason if refused else None)
    if started.resident:
        out["patient"] = patient(started.resident)
    if not refused:
        out["encounter"] = ref("Encounter", d.session)
    out["agent"] = [{"who": actor(started.tenant, d.by), "requestor": True}]
    out["source"] = {"observer": _observer(started)}
    if started.device is not None:
        out["entity"] = [{"what": device(started.device.id)}]
    return out


def audit_event(event: EventBase, ended: EventBase | None = None) -> dict[str, Any] | None:
    if event.type in LOCK_CODES:
        return lock_audit(event)
    if event.type in ("supervision.started", "supervision.refused"):
        return camera_audit(event, ended)
    return None


def encounter(started: EventBase, ended: EventBase | None = None) -> dict[str, Any]:
    """A camera check: class VR, who looked, which camera, from when to when."""
    d: Any = started.data
    out = base("Encounter", d.session, ended or started)
    out["identifier"] = [{"system": "urn:navet:supervision-session", "value": d.session}]
    out["status"] = "completed" if ended is not None else "in-progress"
    out["class"] = [{"coding": [coding(V3_ACT_CODE, "VR")]}]
    out["type"] = [concept("supervision-mode", "camera-check")]
    if started.resident:
        out["subject"] = patient(started.resident)
    participants = [{"actor": staff(started.tenant, d.by.id)}]
    if started.device is not None:
        participants.append({"actor": device(started.device.id)})
    out["participant"] = participants
    period = {"start": ts(started.time)}
    if ended is not None:
        period["end"] = ts(ended.time)
        seconds = ended.data.duration_s  # type: ignore[attr-defined]
        out["length"] = {"value": seconds, "unit": "s", "system": UCUM, "code": "s"}
    out["actualPeriod"] = period
    return out
