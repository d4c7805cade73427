"""The Zigbee2MQTT adapter, through the same fixture a vendor uses (``navet_decode``).

Payloads under ``fixtures/`` are shaped like what a Zigbee2MQTT bridge
publishes for common sensors (door/window contact, bed/motion occupancy, water
leak, climate), extra fields included: the adapter must ignore what it does not
know and read what it does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock, PayloadError
from gateway.core.gateway import Gateway
from gateway.transports.memory import MemoryBroker

FIXTURES = Path(__file__).parent / "fixtures"
Decode = Callable[..., list[Any]]


def _fixture(name: str) -> str:
    return (FIXTURES / f"{name}.json").read_text(encoding="utf-8")


def _by_type(events: list[Any]) -> dict[str, Any]:
    return {e.type: e for e in events}


def test_door_sensor_opening(navet_decode: Decode) -> None:
    events = navet_decode("zigbee2mqtt", "zigbee2mqtt/hall_door", _fixture("door_sensor_open"),
                          tenant="vasteras")

    assert [e.type for e in events] == ["sensor.reported", "device.battery", "device.heartbeat"]
    found = _by_type(events)
    assert found["sensor.reported"].data.readings.contact is False  # False = open
    assert found["sensor.reported"].data.link_quality == 87
    assert found["device.battery"].data.model_dump() == {
        "level_pct": 91, "low": False, "voltage_mv": 3005}
    for event in events:
        assert event.tenant == "vasteras"
        assert event.device.id == "zigbee2mqtt:hall_door"
        assert event.time == datetime(2026, 1, 1, 21, 14, 5, 412000, tzinfo=UTC)
        assert event.source.ref == "2026-01-01T21:14:05.412Z"


def test_bed_sensor_with_epoch_millisecond_last_seen(navet_decode: Decode) -> None:
    events = navet_decode("zigbee2mqtt", "zigbee2mqtt/bed", _fixture("bed_sensor_occupied"))

    reported = _by_type(events)["sensor.reported"]
    assert reported.data.readings.occupancy is True
    assert reported.data.readings.illuminance_lux == 3
    assert reported.time == datetime(2026, 1, 1, 21, 0, tzinfo=UTC)
    assert reported.source.ref == "1767301200000"


def test_water_leak_with_the_devices_low_battery_flag_and_local_offset(
    navet_decode: Decode,
) -> None:
    events = navet_decode("zigbee2mqtt", "zigbee2mqtt/bathroom", _fixture("water_leak_low_battery"))

    found = _by_type(events)
    assert found["sensor.reported"].data.readings.water_leak is True
    assert found["device.battery"].data.low is True
    assert found["device.battery"].data.level_pct == 9
    assert "device.tamper" not in found  # tamper false is not an event
    assert found["sensor.reported"].time == datetime(2026, 1, 1, 2, 2, 1, tzinfo=UTC)


def test_climate_readings_are_renamed_to_the_contract_fields(navet_decode: Decode) -> None:
    events = navet_decode("zigbee2mqtt", "zigbee2mqtt/living_room",
                          _fixture("temperature_humidity"))

    readings = _by_type(events)["sensor.reported"].data.readings
    assert readings.temperature_c == 21.8
    assert readings.humidity_pct == 41.37
    assert readings.contact is None  # not measured by this sensor


def test_tamper_raises_a_tamper_event(navet_decode: Decode) -> None:
    events = navet_decode("zigbee2mqtt", "zigbee2mqtt/hall_motion", _fixture("tampered_motion"))
    assert _by_type(events)["device.tamper"].data.active is True


@pytest.mark.parametrize(
    ("payload", "event_type"),
    [("online", "device.online"), ('{"state":"offline"}', "device.offline")],
)
def test_availability(navet_decode: Decode, navet_clock: FakeClock, payload: str,
                      event_type: str) -> None:
    events = navet_decode("zigbee2mqtt", "zigbee2mqtt/hall_door/availability", payload)
    assert [e.type for e in events] == [event_type]
    assert events[0].time == navet_clock.now()  # availability carries no time of its own


def test_the_same_message_twice_gives_the_same_ids(navet_decode: Decode) -> None:
    first = navet_decode("zigbee2mqtt", "zigbee2mqtt/bed", _fixture("bed_sensor_occupied"))
    again = navet_decode("zigbee2mqtt", "zigbee2mqtt/bed", _fixture("bed_sensor_occupied"))
    assert [e.id for e in first] == [e.id for e in again]
    later = json.loads(_fixture("bed_sensor_occupied")) | {"last_seen": 1767301260000}
    other = navet_decode("zigbee2mqtt", "zigbee2mqtt/bed", json.dumps(later))
    assert not {e.id for e in first} & {e.id for e in other}


def test_a_configured_base_topic_is_honoured(navet_decode: Decode) -> None:
    events = navet_decode("zigbee2mqtt", "hus7/z2m/door", '{"contact": true}',
                          settings={"base_topic": "hus7/z2m"})
    assert events[0].device.id == "zigbee2mqtt:door"
    with pytest.raises(PayloadError, match="is not under 'hus7/z2m'"):
        navet_decode("zigbee2mqtt", "zigbee2mqtt/door", '{"contact": true}',
                     settings={"base_topic": "hus7/z2m"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"contact": fals', "payload is not JSON"),
        ('"contact"', "payload must be a JSON object, got str"),
        ('{"battery": "low"}', "battery must be a number, got 'low'"),
        ('{"occupancy": 1}', "occupancy must be true or false, got 1"),
        ('{"linkquality": 12.5}', "linkquality must be an integer, got 12.5"),
        ('{"battery": 140}', "data.level_pct: Input should be less than or equal to 100"),
        ('{"last_seen": true}', "last_seen must be ISO 8601 text or epoch ms, got True"),
    ],
)
def test_bad_payloads_are_refused_naming_adapter_device_and_reason(
    navet_decode: Decode, payload: str, reason: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        navet_decode("zigbee2mqtt", "zigbee2mqtt/bed", payload)
    assert caught.value.adapter == "zigbee2mqtt"
    assert caught.value.device == "bed"
    assert str(caught.value).startswith("zigbee2mqtt, device bed: ")
    assert reason in str(caught.value)


async def test_bridge_messages_are_ignored_and_device_messages_stored(
    gateway: Gateway, broker: MemoryBroker
) -> None:
    bridge = broker.client("z2m")
    await bridge.connect()
    await bridge.publish("zigbee2mqtt/bridge/state", '{"state":"online"}')
    await bridge.publish("zigbee2mqtt/hall_door", _fixture("door_sensor_open"))
    await bridge.publish("zigbee2mqtt/hall_door/availability", '{"state":"offline"}')
    for client in broker.clients:
        await client.drain()

    counts = gateway.store.count_events("vasteras")
    from_the_bridge = {t: n for t, n in counts.items() if not t.startswith("alarm.")}  # not rules
    assert from_the_bridge == {
        "device.battery": 1, "device.heartbeat": 1, "device.offline": 1, "sensor.reported": 1,
    }
    assert gateway.store.dead_letters("vasteras") == []
