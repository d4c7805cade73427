"""One of everything the FHIR facade emits, built through the real mapping functions.

``resources()`` returns every resource type the facade serves, in the shapes
Navet produces (a whole alarm lifecycle, readings, door and camera trails,
doses, care data); ``documents()`` adds the Bundles, the CapabilityStatement,
the SubscriptionTopics and an OperationOutcome.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.core.care import Consent
from gateway.core.model import Actor, EventBase, make_event
from gateway.core.rules.alarms import AlarmRecord
from gateway.fhir import mapping as m
from gateway.fhir.bundles import message, operation_outcome, searchset
from gateway.fhir.capability import capability_statement
from gateway.fhir.checks import Issue
from gateway.fhir.topics import TOPICS

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
TENANT = "vasteras"
RESIDENT = "r_7f3a"  # '_' is not allowed in a FHIR id: exercises the id escaping
SRC = {"adapter": "acme", "protocol": "acme", "ref": "m-1"}
BED = {"id": "zigbee2mqtt:bed", "kind": "passive_sensor", "vendor": "Aqara"}
LOCK = {"id": "acme-lock:L-1", "kind": "door_lock"}
CAMERA = {"id": "cam:9", "kind": "camera"}
DISPENSER = {"id": "dosvakt:D-1", "kind": "medication_dispenser"}
STAFF = {"kind": "staff", "id": "s-17"}
OPERATOR = Actor(kind="operator", id="op-1")


def ev(event_type: str, data: dict[str, Any], *, seconds: float = 0, device: Any = BED,
       resident: str | None = RESIDENT, alarm: str | None = None, ref: str = "m-1",
       adapter: str = "acme") -> EventBase:
    at = T0 + timedelta(seconds=seconds)
    return make_event(event_type, tenant=TENANT, time=at, device=device, resident=resident,
                      source={**SRC, "adapter": adapter, "ref": f"{ref}-{event_type}"},
                      alarm=alarm, priority="critical" if event_type == "alarm.raised" else None,
                      data=data).model_copy(update={"received": at + timedelta(seconds=1)})


def alarm_events() -> list[EventBase]:
    raised = ev("alarm.raised", {"kind": "fall", "text": "fall detected"}, alarm="A-1")
    def nav(t: str, data: dict[str, Any], s: float) -> EventBase:
        return ev(t, data, seconds=s, alarm="A-1", adapter="navet")
    return [
        raised,
        nav("alarm.escalated", {"level": 1, "to": "backup", "reason": "not acknowledged"}, 60),
        nav("alarm.acknowledged", {"by": OPERATOR.model_dump()}, 70),
        nav("alarm.updated", {"text": "[operator op-1] called, no answer"}, 80),
        nav("alarm.dispatched", {"by": OPERATOR.model_dump(), "to": STAFF}, 90),
        nav("alarm.attended", {"by": STAFF}, 600),
        nav("alarm.closed", {"by": STAFF, "outcome": "assistance_given", "note": "helped up"},
            900),
    ]


def cancelled_alarm() -> list[EventBase]:
    return [ev("alarm.raised", {"kind": "personal_button"}, alarm="A-2", ref="m-2"),
            ev("alarm.cancelled", {"reason": "resident"}, seconds=5, alarm="A-2", ref="m-2")]


def gps_alarm() -> list[EventBase]:
    """A geofence alarm with a position: its Task points to where it happened."""
    raised = make_event(
        "alarm.raised", tenant=TENANT, time=T0, resident=RESIDENT, alarm="scaip:G-1",
        device={"id": "gps:77", "kind": "gps_alarm"}, priority="high",
        source={"adapter": "gps", "protocol": "gps", "ref": "g-1"},
        location={"text": "Near the bus station", "point": {"lat": 59.61, "lon": 16.54,
                                                           "accuracy_m": 12}},
        data={"kind": "gps.geofence_exit"},
    ).model_copy(update={"received": T0})
    return [raised]


def observation_events() -> list[EventBase]:
    return [
        ev("sensor.reported", {"readings": {"contact": False, "occupancy": True,
                                            "temperature_c": 21.5, "humidity_pct": 40.0,
                                            "illuminance_lux": 3.0}, "link_quality": 90}),
        ev("position.reported", {"point": {"lat": 59.61, "lon": 16.55, "accuracy_m": 8},
                                 "speed_mps": 1.2}),
        ev("device.battery", {"level_pct": 7, "low": True, "voltage_mv": 2900}),
        ev("device.online", {"silent_s": 600}),
        ev("device.offline", {"reason": "no heartbeat for 15 min"}, resident=None),
        ev("device.fault", {"kind": "mains_lost", "active": True, "text": "on battery"}),
        ev("device.tamper", {"active": True}),
        ev("medication.refill_needed", {"remaining_doses": 3}, device=DISPENSER),
        ev("supervision.observation", {"by": STAFF, "finding": "asleep", "session": "S-1",
                                       "note": "sleeping calmly"}, device=CAMERA),
    ]


def lock_events() -> list[EventBase]:
    return [
        ev("lock.unlocked", {"by": STAFF, "method": "app"}, device=LOCK),
        ev("lock.locked", {"method": "auto"}, seconds=600, device=LOCK),
        ev("lock.denied", {"by": STAFF, "reason": "no planned visit now"}, device=LOCK),
        ev("lock.jammed", {}, device=LOCK),
    ]


def camera_events() -> tuple[EventBase, EventBase, EventBase]:
    started = ev("supervision.started", {"session": "S-1", "by": STAFF}, device=CAMERA)
    ended = ev("supervision.ended", {"session": "S-1", "duration_s": 35}, seconds=35,
               device=CAMERA)
    refused = ev("supervision.refused", {"by": STAFF, "reason": "outside the consented window"},
                 device=CAMERA)
    return started, ended, refused


def dose_events() -> list[EventBase]:
    dose = {"dose": "D-0800", "scheduled": T0.isoformat(), "medication": "Dospåse 08:00"}
    return [ev("medication.dose_dispensed", dose, device=DISPENSER),
            ev("medication.dose_taken", dose, seconds=120, device=DISPENSER),
            ev("medication.dose_missed", {**dose, "dose": "D-1200"}, seconds=3600,
               device=DISPENSER)]


def device_rows() -> list[dict[str, Any]]:
    return [
        {"id": BED["id"], "tenant": TENANT, "adapter": "zigbee2mqtt", "address": "bed",
         "kind": "passive_sensor", "resident": RESIDENT, "heartbeat_s": 600,
         "last_seen": T0.isoformat(),
         "body": json.dumps({"vendor": "Aqara", "model": "FP1", "location": "Bedroom"})},
        {"id": "zigbee2mqtt:spare", "tenant": TENANT, "adapter": "zigbee2mqtt",
         "address": "spare", "kind": "other", "resident": None, "heartbeat_s": None,
         "last_seen": None, "body": "{}"},
    ]


def consents() -> list[Consent]:
    return [
        Consent(id="c-1", resident=RESIDENT, purpose="camera_supervision", valid_from=T0,
                legal_basis="samtycke, SoL; beslut 2026-123"),
        Consent(id="c-2", resident=RESIDENT, purpose="camera_supervision",
                given_by="cohabitant:partner", valid_from=T0, withdrawn=T0 + timedelta(days=2),
                legal_basis="samtycke från sammanboende"),
        Consent(id="c-3", resident=RESIDENT, purpose="notify_relatives",
                valid_from=T0 + timedelta(days=30), legal_basis="samtycke"),
    ]


def resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for events in (alarm_events(), cancelled_alarm(), gps_alarm()):
        rec = AlarmRecord(TENANT, events[0].alarm or events[0].id)
        for e in events:
            rec.apply(e)
            out.append(m.task(rec))  # the Task right after each event
            out.append(m.provenance(e))
    gps = AlarmRecord(TENANT, "scaip:G-1")
    gps.apply(gps_alarm()[0])
    out.append(m.alarm_location(gps))  # type: ignore[arg-type]
    out += [r for e in observation_events() if (r := m.observation(e)) is not None]
    out += [r for e in lock_events() if (r := m.audit_event(e)) is not None]
    started, ended, refused = camera_events()
    out += [m.encounter(started), m.encounter(started, ended),
            m.audit_event(started), m.audit_event(started, ended), m.audit_event(refused)]  # type: ignore[list-item]
    dispensed, taken, missed = dose_events()
    out += [m.dispense(dispensed), m.administration(taken, dispensed.id),  # type: ignore[list-item]
            m.administration(missed)]
    out += [m.patient_resource(TENANT, RESIDENT),
            m.home_location(TENANT, RESIDENT, {"label": "Lgh 1102",
                                               "home": {"text": "Storgatan 1", "code": "S-1",
                                                        "point": {"lat": 59.6, "lon": 16.5}}}),
            m.home_location(TENANT, "r-2", {})]
    rows = device_rows()
    out += [m.device_resource(r) for r in rows]
    out += [a for r in rows if (a := m.association(r)) is not None]
    now = T0 + timedelta(days=3)
    out += [m.consent_resource(TENANT, c, now) for c in consents()]
    return out


def documents() -> list[dict[str, Any]]:
    base = "https://navet.example/fhir/r5"
    res = resources()
    tasks = [r for r in res if r["resourceType"] == "Task"][:2]
    first = alarm_events()[0]
    return [
        searchset(base, "Task", tasks, {"tenant": TENANT}, offset=2, count=2, more=True,
                  total=None),
        message(base, TENANT, first, [tasks[0], m.provenance(first)], T0,
                [m.patient_resource(TENANT, RESIDENT)]),
        capability_statement(base, T0),
        *[t.resource_json() for t in TOPICS.values()],
        operation_outcome([Issue("Task.status", "bad"), ("not-found", "no such Task")]),
    ]
