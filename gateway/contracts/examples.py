"""One valid, deterministic example event per type, for the schemas, the docs and the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.core.model import EventBase, make_event

_AT = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)
_STAFF = {"kind": "staff", "id": "staff-17", "name": "Nattpatrull 2"}
_UNIT = {"id": "scaip:unit-0042", "kind": "social_alarm", "vendor": "Example", "serial": "0042"}
_DEVICES = {
    "alarm": _UNIT,
    "device": _UNIT,
    "sensor": {"id": "zigbee2mqtt:hall_door", "kind": "passive_sensor"},
    "position": {"id": "gps:tracker-7", "kind": "gps_alarm"},
    "lock": {"id": "locks:door-12", "kind": "door_lock"},
    "medication": {"id": "dispenser:md-3", "kind": "medication_dispenser"},
    "supervision": {"id": "camera:cam-5", "kind": "camera"},
    "camera": {"id": "camera:cam-5", "kind": "camera"},
    "visit": None,
}
_DOSE = {"dose": "slot-14", "scheduled": "2026-01-01T07:30:00Z", "medication": None}
EXAMPLE_DATA: dict[str, dict[str, Any]] = {
    "alarm.raised": {"kind": "personal_button", "text": "Button pressed", "code": None},
    "alarm.updated": {"text": "Speech contact: resident has fallen", "code": None,
                      "position": None},
    "alarm.cancelled": {"reason": "resident", "by": None},
    "alarm.acknowledged": {"by": _STAFF},
    "alarm.escalated": {"level": 1, "to": "larmcentral-backup", "reason": "not acknowledged"},
    "alarm.dispatched": {"by": {"kind": "operator", "id": "op-3", "name": None}, "to": _STAFF},
    "alarm.attended": {"by": _STAFF},
    "alarm.closed": {"by": _STAFF, "outcome": "assistance_given", "note": None},
    "device.heartbeat": {"interval_s": 3600, "link_quality": None},
    "device.online": {"silent_s": 5400},
    "device.offline": {"reason": "no heartbeat for 90 minutes", "last_seen": None},
    "device.battery": {"level_pct": 15, "low": True, "voltage_mv": None},
    "device.fault": {"kind": "mains_lost", "active": True, "code": None, "text": None},
    "device.tamper": {"active": True},
    "sensor.reported": {"readings": {"contact": False}, "link_quality": 120},
    "position.reported": {"point": {"lat": 59.6099, "lon": 16.5448, "accuracy_m": 12.0},
                          "reason": "periodic", "speed_mps": None},
    "lock.unlocked": {"by": _STAFF, "method": "app"},
    "lock.locked": {"by": None, "method": "auto"},
    "lock.denied": {"by": _STAFF, "reason": "no planned visit now"},
    "lock.jammed": {},
    "medication.dose_due": _DOSE,
    "medication.dose_dispensed": _DOSE,
    "medication.dose_taken": _DOSE,
    "medication.dose_missed": _DOSE,
    "medication.refill_needed": {"remaining_doses": 4},
    "supervision.started": {"session": "s-88", "by": _STAFF, "expires": None},
    "supervision.ended": {"session": "s-88", "duration_s": 40, "reason": "ended"},
    "supervision.refused": {"by": _STAFF, "reason": "outside the consented window"},
    "supervision.observation": {"by": _STAFF, "finding": "asleep", "session": "s-88",
                                "note": None},
    "camera.privacy": {"state": "covered", "session": None},
    "visit.requested": {"by": _STAFF, "reason": "camera check: resident needs a visit",
                        "session": "s-88", "observation": None},
}
"""One valid ``data`` body per event type; used in the schemas, the docs and the tests."""


def example_event(event_type: str) -> EventBase:
    """A valid, deterministic example event of ``event_type``."""
    family = event_type.split(".")[0]
    return make_event(
        event_type,
        tenant="vasteras",
        time=_AT,
        resident="r-7f3a91",
        device=_DEVICES[family],
        source={"adapter": "example", "protocol": "example", "ref": f"msg-{event_type}"},
        alarm="alm-0001" if family == "alarm" else None,
        priority="critical" if event_type == "alarm.raised" else None,
        data=EXAMPLE_DATA[event_type],
    )
