"""The durable pipeline, driven through the MQTT twin as a Zigbee2MQTT bridge would."""

from __future__ import annotations

import asyncio
import json

from gateway import FakeClock, RawFrame
from gateway.core.gateway import Gateway
from gateway.testing import wait_until
from gateway.transports.base import MqttMessage
from gateway.transports.memory import MemoryBroker


async def _settle(gw: Gateway, broker: MemoryBroker) -> None:
    for client in broker.clients:
        await client.drain()
    assert gw.rules is not None
    await gw.rules.drain()
    for _ in range(50):
        await asyncio.sleep(0)


async def _delivered(gw: Gateway, timeout: float = 5.0) -> None:
    """Wait until the outbox worker has delivered everything (real time, bounded)."""
    await wait_until(lambda: not gw.store.outbox_depth(), "the outbox to drain",
                     timeout=timeout)


async def test_sensor_frame_is_stored_fanned_out_and_published(
    gateway: Gateway, broker: MemoryBroker, clock: FakeClock
) -> None:
    seen: list[MqttMessage] = []
    consumer = broker.client("consumer")
    await consumer.connect()

    async def keep(msg: MqttMessage) -> None:
        seen.append(msg)

    await consumer.subscribe("navet/vasteras/events/#", keep)
    bridge = broker.client("z2m")
    await bridge.connect()
    await bridge.publish(
        "zigbee2mqtt/hall_door",
        json.dumps({"contact": False, "battery": 15, "last_seen": "2026-01-01T00:00:00Z"}),
    )
    await _settle(gateway, broker)
    await _delivered(gateway)
    await consumer.drain()

    counts = gateway.store.count_events("vasteras")
    # 15 % is below the low-battery threshold: the core raises a technical alarm.
    assert counts == {
        "alarm.raised": 1, "device.battery": 1, "device.heartbeat": 1, "sensor.reported": 1,
    }
    topics = sorted(m.topic for m in seen)
    assert topics == [
        "navet/vasteras/events/alarm.raised",
        "navet/vasteras/events/device.battery",
        "navet/vasteras/events/sensor.reported",
    ]
    raised = json.loads(next(m.payload for m in seen if m.topic.endswith("alarm.raised")))
    assert raised["data"]["data"]["kind"] == "technical.low_battery"
    battery = json.loads(next(m.payload for m in seen if m.topic.endswith("battery")))
    assert battery["specversion"] == "1.0"
    assert battery["data"]["data"] == {"level_pct": 15, "low": True, "voltage_mv": None}


async def test_same_frame_twice_is_stored_once(gateway: Gateway, clock: FakeClock) -> None:
    frame = RawFrame(
        "zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed",
        b'{"occupancy": true, "last_seen": 1767225600000}', clock.now(),
    )
    first = await gateway.ingest(frame)
    second = await gateway.ingest(frame)
    assert len(first.accepted) == 2 and not first.duplicates
    assert second.accepted == () and set(second.duplicates) == set(first.accepted)


async def test_malformed_frame_is_a_dead_letter_and_next_frame_still_flows(
    gateway: Gateway, clock: FakeClock
) -> None:
    bad = RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed", b'{"contact": "yes"',
                   clock.now())
    result = await gateway.ingest(bad)
    assert result.dead_letter is not None
    assert "payload is not JSON" in (result.reason or "")
    letters = gateway.store.dead_letters("vasteras")
    assert letters[0]["payload"] == '{"contact": "yes"'
    assert "zigbee2mqtt, device bed" in letters[0]["reason"]

    good = RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed", b'{"contact": true}',
                    clock.now())
    assert (await gateway.ingest(good)).accepted
    assert gateway.store.count_events("vasteras")["sensor.reported"] == 1


async def test_wrong_type_names_the_field(gateway: Gateway, clock: FakeClock) -> None:
    bad = RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed", b'{"contact": "yes"}',
                   clock.now())
    result = await gateway.ingest(bad)
    assert result.reason is not None and "contact must be true or false" in result.reason
