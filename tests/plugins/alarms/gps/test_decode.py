"""Decoding Stigfinnare messages: every message type, and what is refused and why."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import EventBase, PayloadError, RawFrame
from plugins.alarms.gps import StigfinnareAdapter

from .stigfinnare import IMEI

Decode = Callable[..., list[EventBase]]
AT = "2026-01-14T22:41:07+01:00"


def msg(kind: str, **extra: Any) -> dict[str, Any]:
    return {"v": 1, "id": "sf-00042", "type": kind, "time": AT,
            "device": {"imei": IMEI, "model": "S2"}, **extra}


POS = {"lat": 59.6158, "lon": 16.5449, "accuracy_m": 7.5, "source": "gps",
       "time": "2026-01-14T21:41:05Z", "speed_mps": 1.1}


@pytest.fixture
def decode(navet_decode: Decode) -> Callable[[Any], list[EventBase]]:
    def run(body: Any) -> list[EventBase]:
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        return navet_decode("stigfinnare", "/v1/messages", raw, tenant="vasteras")
    return run


def test_position(decode: Callable[[Any], list[EventBase]]) -> None:
    [ev] = decode(msg("position", position=POS, trigger="movement"))
    assert ev.type == "position.reported"
    assert ev.time == datetime(2026, 1, 14, 21, 41, 5, tzinfo=UTC)  # the fix's own time
    assert ev.data.point.model_dump() == {"lat": 59.6158, "lon": 16.5449,  # type: ignore[attr-defined]
                                          "accuracy_m": 7.5}
    assert (ev.data.reason, ev.data.speed_mps) == ("movement", 1.1)  # type: ignore[attr-defined]
    assert ev.device is not None and ev.device.model_dump(exclude_none=True) == {
        "id": f"stigfinnare:{IMEI}", "kind": "gps_alarm", "vendor": "Stigfinnare",
        "model": "S2", "serial": IMEI}
    assert (ev.tenant, ev.source.adapter, ev.source.ref) == ("vasteras", "stigfinnare",
                                                            "sf-00042")


def test_sos_with_a_fix(decode: Callable[[Any], list[EventBase]]) -> None:
    pos, alarm, battery = decode(msg("sos", position=POS, battery={"level_pct": 55}))
    assert pos.type == "position.reported" and pos.data.reason == "alarm"  # type: ignore[attr-defined]
    assert alarm.type == "alarm.raised"
    assert alarm.data.model_dump() == {"kind": "personal_button",  # type: ignore[attr-defined]
                                       "text": "SOS button pressed", "code": "stigfinnare:sos"}
    assert alarm.priority == "critical"
    assert alarm.time == datetime(2026, 1, 14, 21, 41, 7, tzinfo=UTC)
    assert alarm.location is not None and alarm.location.point == pos.data.point  # type: ignore[attr-defined]
    assert battery.type == "device.battery"
    assert battery.data.model_dump() == {"level_pct": 55, "low": False,  # type: ignore[attr-defined]
                                         "voltage_mv": None}
    assert len({pos.id, alarm.id, battery.id}) == 3


def test_sos_without_a_fix_and_a_fall(decode: Callable[[Any], list[EventBase]]) -> None:
    [alarm] = decode(msg("sos"))
    assert alarm.location is None
    assert alarm.data.text == "SOS button pressed (no position fix with the alarm)"  # type: ignore[attr-defined]
    _, fall = decode(msg("fall", position=POS))
    assert (fall.type, str(fall.data.kind), fall.priority) == ("alarm.raised", "fall",  # type: ignore[attr-defined]
                                                               "critical")


def test_battery_and_heartbeat(decode: Callable[[Any], list[EventBase]]) -> None:
    [low] = decode(msg("battery", battery={"level_pct": 19}))
    assert (low.data.level_pct, low.data.low) == (19, True)  # type: ignore[attr-defined]
    [flagged] = decode(msg("battery", battery={"level_pct": 40, "low": True}))
    assert flagged.data.low is True  # type: ignore[attr-defined]  # the vendor's flag wins
    battery, beat = decode(msg("heartbeat", interval_s=900, battery={"level_pct": 80}))
    assert battery.type == "device.battery" and beat.type == "device.heartbeat"
    assert beat.data.interval_s == 900  # type: ignore[attr-defined]
    position, beat = decode(msg("heartbeat", position=POS))
    assert (position.type, beat.type) == ("position.reported", "device.heartbeat")


def test_the_same_message_twice_gives_the_same_ids(
    decode: Callable[[Any], list[EventBase]]
) -> None:
    first = decode(msg("sos", position=POS))
    second = decode(msg("sos", position=POS))
    assert [e.id for e in first] == [e.id for e in second]
    other = decode({**msg("sos", position=POS), "id": "sf-00043"})
    assert not {e.id for e in first} & {e.id for e in other}


@pytest.mark.parametrize(("body", "reason", "device"), [
    (b"\xff\xfe not json", "body is not JSON", None),
    ("[1, 2]", "body must be a JSON object, got list", None),
    ('{"v": 1, "lat": NaN}', "body is not JSON", None),
    ({**msg("position", position=POS), "time": "2026-01-14T22:41:07"},
     "time: Input should have timezone info", IMEI),
    ({**msg("position"), "device": {"imei": "12345"}}, "device.imei: String should match", None),
    (msg("position"), "a 'position' message needs a position", IMEI),
    (msg("battery"), "a 'battery' message needs a battery object", IMEI),
    (msg("teleport"), "type: Input should be 'position', 'sos'", IMEI),
    (msg("position", position={**POS, "lat": 91}), "position.lat: Input should be less", IMEI),
    (msg("position", position={**POS, "lon": 10**400}), "position.lon", IMEI),
    ({**msg("position", position=POS), "v": 2}, "v: Input should be 1", IMEI),
    ({**msg("position", position=POS), "secret_field": 1}, "secret_field: Extra inputs", IMEI),
    (msg("sos", trigger="movement"), "trigger belongs to 'position' messages only", IMEI),
])
def test_bad_messages_are_refused_with_a_reason(
    decode: Callable[[Any], list[EventBase]], body: Any, reason: str, device: str | None
) -> None:
    with pytest.raises(PayloadError) as err:
        decode(body)
    assert reason in str(err.value)
    assert err.value.adapter == "stigfinnare"
    assert err.value.device == device


FIELDS = ["v", "id", "type", "time", "device", "position", "battery", "trigger", "interval_s",
          "imei", "lat", "lon", "accuracy_m", "level_pct", "low"]
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(["sos", "position", "battery", "heartbeat", "fall", IMEI, AT, "Z"])
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=6),
    max_leaves=12,
)


def _total(payload: bytes) -> None:
    frame = RawFrame("stigfinnare", "vasteras", "webhook", "/v1/messages", payload,
                     datetime(2026, 1, 1, tzinfo=UTC))
    try:
        events = StigfinnareAdapter().decode(frame)
    except PayloadError:
        return
    assert isinstance(events, list)


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_decode_is_total_on_bytes(payload: bytes) -> None:
    _total(payload)


@settings(max_examples=400)
@given(st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=9))
def test_decode_is_total_on_json_objects(body: dict[str, Any]) -> None:
    _total(json.dumps(body).encode())


@settings(max_examples=200)
@given(st.fixed_dictionaries({
    "lat": st.floats(allow_nan=False) | st.integers(), "lon": st.floats(allow_nan=False),
    "accuracy_m": st.none() | st.floats(allow_nan=False) | st.integers(),
}), st.sampled_from(["position", "sos", "fall", "heartbeat"]))
def test_decode_is_total_on_extreme_positions(position: dict[str, Any], kind: str) -> None:
    _total(json.dumps(msg(kind, position=position)).encode())  # Infinity: not JSON, refused
