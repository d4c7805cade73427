"""Contract v1 as a consumer or adapter author meets it: ids, strictness, errors, CloudEvents."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway import (
    ContractError,
    PayloadError,
    RawFrame,
    from_cloudevent,
    make_event,
    to_cloudevent,
)
from gateway.contracts import example_event
from gateway.core.model import CATALOGUE, EVENT_MODELS, validate_event
from plugins.alarms.zigbee2mqtt import Zigbee2MqttAdapter

AT = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)
SENSOR = {"id": "zigbee2mqtt:hall_door", "kind": "passive_sensor"}


def _battery(ref: str | None, **overrides: Any) -> Any:
    kwargs: dict[str, Any] = {
        "tenant": "vasteras", "time": AT, "device": SENSOR,
        "source": {"adapter": "zigbee2mqtt", "protocol": "zigbee2mqtt", "ref": ref},
        "data": {"level_pct": 15, "low": True},
    }
    return make_event("device.battery", **(kwargs | overrides))


# --------------------------------------------------------------------------- ids


def test_same_input_gives_the_same_id() -> None:
    assert _battery("m-1").id == _battery("m-1").id


def test_a_different_source_ref_gives_a_different_id() -> None:
    assert _battery("m-1").id != _battery("m-2").id


def test_the_id_depends_on_device_adapter_and_type_not_on_the_body() -> None:
    base = _battery("m-1")
    other_device = _battery("m-1", device={"id": "zigbee2mqtt:bed", "kind": "passive_sensor"})
    other_adapter = _battery("m-1", source={"adapter": "z2", "protocol": "zigbee2mqtt",
                                           "ref": "m-1"})
    other_body = _battery("m-1", data={"level_pct": 14, "low": True})
    assert len({base.id, other_device.id, other_adapter.id}) == 3
    assert other_body.id == base.id  # a redelivery with a re-rendered body is still one event
    heartbeat = make_event("device.heartbeat", tenant="vasteras", time=AT, device=SENSOR,
                           source=base.source, data={})
    assert heartbeat.id != base.id


def test_an_explicit_id_is_kept() -> None:
    assert _battery("m-1", id="vendor-42").id == "vendor-42"


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_unknown_fields_are_refused_in_the_envelope_and_in_data(event_type: str) -> None:
    good = example_event(event_type).model_dump(mode="json")
    assert validate_event(good).id == good["id"]

    with pytest.raises(ContractError, match=r"colour: Extra inputs are not permitted"):
        validate_event({**good, "colour": "red"})
    with pytest.raises(ContractError, match=r"data\.colour: Extra inputs are not permitted"):
        validate_event({**good, "data": {**good["data"], "colour": "red"}})


def test_unknown_fields_are_refused_in_nested_parts() -> None:
    good = example_event("position.reported").model_dump(mode="json")
    bad_device = {**good, "device": {**good["device"], "imei": "3569"}}
    with pytest.raises(ContractError, match=r"device\.imei: Extra inputs"):
        validate_event(bad_device)
    bad_point = {**good, "data": {**good["data"], "point": {"lat": 1, "lon": 2, "alt": 3}}}
    with pytest.raises(ContractError, match=r"data\.point\.alt: Extra inputs"):
        validate_event(bad_point)


def test_contract_error_names_the_type_and_every_wrong_field() -> None:
    with pytest.raises(ContractError) as caught:
        _battery("m-1", tenant="Västerås", data={"level_pct": 140, "low": "sometimes"})
    message = str(caught.value)
    assert message.startswith("event of type 'device.battery' breaks contract v1: ")
    for field in ("tenant: String should match pattern", "data.level_pct: Input should be less "
                  "than or equal to 100", "data.low: Input should be a valid boolean"):
        assert field in message


def test_unknown_event_type_is_refused_with_a_pointer_to_the_catalogue() -> None:
    with pytest.raises(ContractError, match=r"unknown event type 'alarm\.snoozed'; see contracts"):
        make_event("alarm.snoozed", tenant="vasteras", time=AT,
                   source={"adapter": "x", "protocol": "x"}, data={})


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ContractError, match=r"time: Input should have timezone info"):
        _battery("m-1", time=datetime(2026, 1, 1, 7, 30))


def test_events_are_immutable() -> None:
    event = _battery("m-1")
    with pytest.raises(ValueError, match="frozen"):
        event.tenant = "uppsala"  # type: ignore[misc]


# --------------------------------------------------------------------------- CloudEvents


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_cloudevents_round_trip_for_every_type(event_type: str) -> None:
    event = example_event(event_type).model_copy(update={"received": AT})
    wire = json.loads(json.dumps(to_cloudevent(event)))  # through real JSON text

    back = from_cloudevent(wire)

    assert back == event
    assert type(back) is EVENT_MODELS[event_type]
    assert wire["specversion"] == "1.0"
    assert wire["type"] == event_type
    assert wire["dataschema"] == f"urn:navet:contract:v1:{event_type}"
    assert wire["navettenant"] == "vasteras"
    assert not {"id", "type", "time"} & set(wire["data"])


def test_from_cloudevent_refuses_what_is_not_a_navet_event() -> None:
    wire = to_cloudevent(example_event("lock.jammed"))
    with pytest.raises(ContractError, match=r"not a CloudEvents 1\.0 event: '0\.3'"):
        from_cloudevent({**wire, "specversion": "0.3"})
    with pytest.raises(ContractError, match="no object 'data'"):
        from_cloudevent({**wire, "data": "jammed"})
    with pytest.raises(ContractError, match=r"data\.colour: Extra inputs"):
        from_cloudevent({**wire, "data": {**wire["data"], "data": {"colour": "red"}}})


# --------------------------------------------------------------------------- decode is total

ADAPTER = Zigbee2MqttAdapter()
TOPICS = st.sampled_from(
    ["zigbee2mqtt/hall_door", "zigbee2mqtt/hall_door/availability", "zigbee2mqtt/",
     "zigbee2mqtt/a/b", "elsewhere/x", "zigbee2mqtt/bridge/state"]
)
FIELDS = st.sampled_from(
    ["contact", "occupancy", "water_leak", "smoke", "fall", "temperature", "humidity",
     "illuminance_lux", "battery", "battery_low", "voltage", "linkquality", "tamper",
     "last_seen", "state", "other"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=30)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8,
)
# Epoch ms up to the year 2100; beyond that see test_decode_is_total_on_extreme_numbers.
TIMESTAMPS = st.integers(0, 4_102_444_800_000) | st.datetimes(timezones=st.just(UTC)).map(
    lambda d: d.isoformat()
) | st.text(max_size=30)


def _decode(topic: str, payload: bytes) -> list[Any] | PayloadError:
    frame = RawFrame("zigbee2mqtt", "vasteras", "mqtt", topic, payload, AT)
    try:
        events = ADAPTER.decode(frame)
    except PayloadError as err:
        assert err.adapter == "zigbee2mqtt"
        return err
    except Exception as err:  # the contract allows nothing else
        raise AssertionError(
            f"decode raised {type(err).__name__} ({err}) instead of PayloadError "
            f"for {payload[:80]!r} on {topic!r}"
        ) from err
    for event in events:  # every event it returns is a valid contract event of this tenant
        assert validate_event(event.model_dump(mode="json")) == event
        assert event.tenant == "vasteras"
    return events


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(topic=TOPICS, payload=st.binary(max_size=200))
def test_decode_of_arbitrary_bytes_gives_events_or_payload_error(
    topic: str, payload: bytes
) -> None:
    _decode(topic, payload)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    topic=TOPICS,
    body=st.dictionaries(FIELDS, JSON_VALUES, max_size=6),
    last_seen=st.none() | TIMESTAMPS,
)
def test_decode_of_arbitrary_device_json_gives_events_or_payload_error(
    topic: str, body: dict[str, Any], last_seen: Any
) -> None:
    body = {k: v for k, v in body.items() if k != "last_seen"}  # only plausible ones here
    if last_seen is not None:
        body["last_seen"] = last_seen
    _decode(topic, json.dumps(body).encode())


ANY_NUMBER = st.integers() | st.floats()  # NaN, Infinity and 1e308 are valid JSON to Python


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(body=st.dictionaries(FIELDS, JSON_VALUES | ANY_NUMBER, max_size=6))
@example(body={"battery": float("inf")})
@example(body={"battery": float("nan")})
@example(body={"battery": 5, "voltage": float("inf")})
@example(body={"last_seen": 10**16})
@example(body={"last_seen": -62_135_596_800_001})
@example(body={"last_seen": float("nan")})
def test_decode_is_total_on_extreme_numbers(body: dict[str, Any]) -> None:
    _decode("zigbee2mqtt/hall_door", json.dumps(body).encode())


def test_deeply_nested_json_is_a_payload_error() -> None:
    """A 256 KiB frame of ``[`` is within the host's size limit and must be refused cleanly."""
    with pytest.raises(PayloadError):
        ADAPTER.decode(RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/x",
                                b"[" * 200_000, AT))


def test_decode_is_pure_same_frame_same_events() -> None:
    payload = b'{"contact": false, "battery": 12, "last_seen": 1767252598000}'
    assert _decode("zigbee2mqtt/door", payload) == _decode("zigbee2mqtt/door", payload)
