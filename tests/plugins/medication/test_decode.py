"""Decode vectors for both dispenser adapters: what each wire message becomes, and what is refused.

``decode`` is pure and total: every bad input below must raise one PayloadError
whose reason says what was wrong (and names the device when it is known).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gateway import Event, PayloadError

T0 = 1767254400  # 2026-01-01T08:00:00Z
Decode = Callable[..., list[Event]]


def dv(*events: dict[str, Any]) -> str:
    return json.dumps({"events": list(events)})


def dv_dose(kind: str, **over: Any) -> dict[str, Any]:
    ev = {"eventId": "e-1", "type": kind, "occurredAt": "2026-01-01T08:05:00.000Z",
          "device": {"serial": "DV-100234", "model": "Dosvakt R2"},
          "dose": {"pouchId": "P-77", "scheduledAt": "2026-01-01T08:00:00Z", "label": "Morgon"}}
    ev.update(over)
    return ev


def mk(serial: str, leaf: str, body: dict[str, Any] | str) -> tuple[str, str]:
    return f"medikub/{serial}/{leaf}", body if isinstance(body, str) else json.dumps(body)


# --------------------------------------------------------------------------- Dosvakt: good


@pytest.mark.parametrize(("kind", "etype"), [
    ("DOSE_DUE", "medication.dose_due"), ("DOSE_DISPENSED", "medication.dose_dispensed"),
    ("DOSE_TAKEN", "medication.dose_taken"), ("DOSE_MISSED", "medication.dose_missed"),
])
def test_dosvakt_dose_steps(navet_decode: Decode, kind: str, etype: str) -> None:
    [ev] = navet_decode("dosvakt", "events", dv(dv_dose(kind)), tenant="vasteras")
    assert ev.type == etype and ev.tenant == "vasteras"
    assert ev.time.isoformat() == "2026-01-01T08:05:00+00:00"
    assert ev.device is not None and ev.device.id == "dosvakt:DV-100234"
    assert (ev.device.kind, ev.device.vendor, ev.device.model, ev.device.serial) == (
        "medication_dispenser", "Dosvakt", "Dosvakt R2", "DV-100234")
    assert ev.source.ref == "e-1" and ev.source.protocol == "dosvakt-push-v1"
    assert ev.data.model_dump(mode="json") == {
        "dose": "P-77", "scheduled": "2026-01-01T08:00:00Z", "medication": "Morgon"}


def test_dosvakt_batch_keeps_order_and_ids_are_deterministic(navet_decode: Decode) -> None:
    body = dv(
        dv_dose("DOSE_DUE", eventId="a"),
        {"eventId": "b", "type": "REFILL_NEEDED", "occurredAt": "2026-01-01T08:00:05Z",
         "device": {"serial": "DV-1"}, "refill": {"remainingDoses": 3}},
        {"eventId": "c", "type": "DEVICE_FAULT", "occurredAt": "2026-01-01T08:01:00+01:00",
         "device": {"serial": "DV-1"}, "fault": {"code": "E-JAM", "active": True}},
        {"eventId": "d", "type": "BATTERY", "occurredAt": "2026-01-01T08:02:00Z",
         "device": {"serial": "DV-1"}, "battery": {"levelPct": 14, "low": True}},
        {"eventId": "e", "type": "DEVICE_CHECKIN", "occurredAt": "2026-01-01T08:03:00Z",
         "device": {"serial": "DV-1"}, "checkin": {"intervalS": 900}},
        {"eventId": "f", "type": "DEVICE_FAULT", "occurredAt": "2026-01-01T08:04:00Z",
         "device": {"serial": "DV-1"}, "fault": {"code": "E-WHATEVER", "active": False,
                                                  "description": "Temperatur för hög"}},
    )
    events = navet_decode("dosvakt", "events", body)
    assert [e.type for e in events] == [
        "medication.dose_due", "medication.refill_needed", "device.fault", "device.battery",
        "device.heartbeat", "device.fault"]
    assert events[1].data.remaining_doses == 3
    fault = events[2].data.model_dump()
    assert fault == {"kind": "hardware", "active": True, "code": "E-JAM",
                     "text": "dose mechanism jammed"}
    assert events[2].time.isoformat() == "2026-01-01T07:01:00+00:00"  # offset honoured
    assert events[3].data.model_dump() == {"level_pct": 14, "low": True, "voltage_mv": None}
    assert events[4].data.interval_s == 900
    assert (events[5].data.kind, events[5].data.text) == ("other", "Temperatur för hög")
    again = navet_decode("dosvakt", "events", body)
    assert [e.id for e in again] == [e.id for e in events]
    assert len({e.id for e in events}) == len(events)


def test_dosvakt_alive_is_a_heartbeat_of_the_link(navet_decode: Decode) -> None:
    body = dv({"eventId": "al-1", "type": "ALIVE", "occurredAt": "2026-01-01T08:00:00Z",
               "alive": {"intervalS": 300, "reason": "setup"}})
    [ev] = navet_decode("dosvakt", "events", body)
    assert ev.type == "device.heartbeat" and ev.data.interval_s == 300
    assert ev.device is not None and ev.device.id == "dosvakt:link-dosvakt-test"
    assert ev.device.kind == "other"


# --------------------------------------------------------------------------- Dosvakt: bad


@pytest.mark.parametrize(("body", "reason"), [
    ("not json", "body is not JSON"),
    ("[1, 2]", "body must be a JSON object, got list"),
    ("{}", "events must be a non-empty list"),
    (json.dumps({"events": []}), "events must be a non-empty list"),
    (json.dumps({"events": [dv_dose("DOSE_TAKEN")] * 101}), "101 events in one request"),
    (dv(dv_dose("DOSE_EATEN")), "unknown type 'DOSE_EATEN'"),
    (dv(dv_dose("DOSE_TAKEN", eventId="")), "events[0]: eventId must be non-empty text"),
    (dv(dv_dose("DOSE_TAKEN", occurredAt="08:05")), "occurredAt '08:05' is not an ISO 8601"),
    (dv(dv_dose("DOSE_TAKEN", occurredAt="2026-01-01T08:05:00")), "has no UTC offset"),
    (dv(dv_dose("DOSE_TAKEN", device={"model": "x"})), "events[0].device: serial is missing"),
    (dv(dv_dose("DOSE_TAKEN", device={"serial": "a/b"})), "may hold only letters"),
    (dv(dv_dose("DOSE_TAKEN", dose={"scheduledAt": "2026-01-01T08:00:00Z"})),
     "events[0].dose: pouchId is missing"),
    (dv(dv_dose("DOSE_TAKEN", dose="P-1")), "events[0].dose must be a JSON object, got str"),
    (dv({"eventId": "x", "type": "BATTERY", "occurredAt": "2026-01-01T08:00:00Z",
         "device": {"serial": "DV-1"}, "battery": {"levelPct": 140}}), "levelPct 140 is outside"),
    (dv({"eventId": "x", "type": "BATTERY", "occurredAt": "2026-01-01T08:00:00Z",
         "device": {"serial": "DV-1"}, "battery": {}}), "needs levelPct, low or both"),
    (dv({"eventId": "x", "type": "DEVICE_FAULT", "occurredAt": "2026-01-01T08:00:00Z",
         "device": {"serial": "DV-1"}, "fault": {"code": "E-JAM", "active": "yes"}}),
     "active must be true or false"),
    (dv({"eventId": "x", "type": "REFILL_NEEDED", "occurredAt": "2026-01-01T08:00:00Z",
         "device": {"serial": "DV-1"}, "refill": {"remainingDoses": True}}),
     "remainingDoses must be a whole number"),
    ("[" * 100_000, "body is not JSON"),
])
def test_dosvakt_refuses_bad_input_with_a_reason(navet_decode: Decode, body: str,
                                                 reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        navet_decode("dosvakt", "events", body)
    assert reason in str(err.value)
    assert err.value.adapter == "dosvakt"


def test_dosvakt_error_names_the_device_when_known(navet_decode: Decode) -> None:
    bad = dv_dose("DOSE_TAKEN", dose={"pouchId": "P-1", "scheduledAt": "tomorrow"})
    with pytest.raises(PayloadError) as err:
        navet_decode("dosvakt", "events", dv(bad))
    assert err.value.device == "DV-100234"
    assert "events[0].dose: scheduledAt 'tomorrow' is not an ISO 8601 time" in str(err.value)


def test_vendor_cannot_forge_the_link_watchdog(navet_decode: Decode) -> None:
    forged = json.dumps({"link": "down", "at": "2026-01-01T08:00:00Z",
                         "lastContact": "2026-01-01T07:00:00Z", "intervalS": 360})
    with pytest.raises(PayloadError, match="events must be a non-empty list"):
        navet_decode("dosvakt", "events", forged)  # over HTTPS it is just a bad batch
    [ev] = navet_decode("dosvakt", "link", forged, transport="navet-watchdog")
    assert ev.type == "device.offline" and "360 s" in ev.data.reason


# --------------------------------------------------------------------------- Medikub: good


@pytest.mark.parametrize(("ev", "etype"), [
    ("due", "medication.dose_due"), ("out", "medication.dose_dispensed"),
    ("taken", "medication.dose_taken"), ("skip", "medication.dose_missed"),
])
def test_medikub_dose_steps(navet_decode: Decode, ev: str, etype: str) -> None:
    topic, body = mk("MK-9", "evt", {"seq": 41, "ts": T0 + 300, "ev": ev, "pouch": "P-77",
                                     "at": T0, "lbl": "Morgon"})
    [event] = navet_decode("medikub", topic, body)
    assert event.type == etype
    assert event.time.isoformat() == "2026-01-01T08:05:00+00:00"
    assert event.device is not None and event.device.id == "medikub:MK-9"
    assert event.source.ref == "MK-9#41"
    assert event.data.model_dump(mode="json") == {
        "dose": "P-77", "scheduled": "2026-01-01T08:00:00Z", "medication": "Morgon"}


def test_medikub_device_messages(navet_decode: Decode) -> None:
    def one(leaf: str, body: dict[str, Any]) -> Event:
        [ev] = navet_decode("medikub", *mk("MK-9", leaf, body))
        return ev

    assert one("evt", {"seq": 1, "ts": T0, "ev": "low", "left": 2}).data.remaining_doses == 2
    fault = one("evt", {"seq": 2, "ts": T0, "ev": "err", "code": 10, "on": True})
    assert fault.data.model_dump() == {"kind": "mains_lost", "active": True, "code": "10",
                                       "text": "mains power lost"}
    battery = one("evt", {"seq": 3, "ts": T0, "ev": "bat", "pct": 18})
    assert (battery.data.level_pct, battery.data.low) == (18, True)
    assert one("evt", {"seq": 4, "ts": T0, "ev": "bat", "pct": 21}).data.low is False
    hb = one("hb", {"ts": T0, "every": 900, "fw": "2.4.1"})
    assert hb.type == "device.heartbeat" and hb.data.interval_s == 900
    online = one("conn", {"online": True, "ts": T0})
    offline = one("conn", {"online": False, "ts": T0})
    assert (online.type, offline.type) == ("device.online", "device.offline")
    assert online.id != offline.id
    assert "last will" in offline.data.reason


# --------------------------------------------------------------------------- Medikub: bad


@pytest.mark.parametrize(("topic", "body", "reason"), [
    ("medikub/MK-9", "{}", "is not medikub/<serial>/evt|hb|conn"),
    ("medikub/MK-9/cmd", "{}", "is not medikub/<serial>/evt|hb|conn"),
    ("other/MK-9/evt", "{}", "is not medikub/<serial>/evt|hb|conn"),
    ("medikub/MK 9/evt", "{}", "may hold only letters"),
    ("medikub/MK-9/evt", "nope", "payload is not JSON"),
    ("medikub/MK-9/evt", "[]", "evt must be a JSON object, got list"),
    ("medikub/MK-9/evt", json.dumps({"ts": T0, "ev": "due"}), "seq is missing"),
    ("medikub/MK-9/evt", json.dumps({"seq": -1, "ts": T0, "ev": "due"}), "seq -1 is outside"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": "08:00", "ev": "due"}),
     "ts must be a whole number"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": 10**15, "ev": "due"}), "is outside"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": T0, "ev": "dance"}), "unknown ev 'dance'"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": T0, "ev": "due", "at": T0}),
     "pouch is missing"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": T0, "ev": "due", "pouch": "P"}),
     "at is missing"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": T0, "ev": "err", "code": 20}),
     "on is missing"),
    ("medikub/MK-9/evt", json.dumps({"seq": 1, "ts": T0, "ev": "bat", "pct": 1.5}),
     "pct must be a whole number"),
    ("medikub/MK-9/hb", json.dumps({"ts": T0, "every": 0}), "every 0 is outside"),
    ("medikub/MK-9/conn", json.dumps({"online": "yes", "ts": T0}), "online must be true"),
])
def test_medikub_refuses_bad_input_with_a_reason(navet_decode: Decode, topic: str, body: str,
                                                 reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        navet_decode("medikub", topic, body, transport="mqtt")
    assert reason in str(err.value)
    assert err.value.adapter == "medikub"
