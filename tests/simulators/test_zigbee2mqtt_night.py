"""A night in a simulated flat, on a fake clock, through the MQTT twin into a gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators import ScenarioRunner, SimContext, SimDevice, Zigbee2MqttFlat, build, families

SENSORS = ["r1001_bed", "r1001_door", "r1001_motion", "r1001_leak"]
HOURS = 12


@pytest.fixture
async def flat_gateway(tmp_path: Path, clock: FakeClock,
                       broker: MemoryBroker) -> AsyncIterator[Gateway]:
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump({"tenants": [{
        "id": "vasteras", "name": "Västerås",
        "residents": [{"id": "r-1001", "label": "Lgh 1102"}],
        "devices": [{"adapter": "zigbee2mqtt", "address": a, "kind": "passive_sensor",
                     "resident": "r-1001", "heartbeat_s": 3600} for a in SENSORS],
    }]}))
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras",
                   "settings": {"base_topic": "zigbee2mqtt/vasteras"}}],
    )
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


def _flat(broker: MemoryBroker, clock: FakeClock, *, leak: bool) -> Zigbee2MqttFlat:
    ctx = SimContext(broker.client("z2m"), clock, "vasteras",
                     {"base_topic": "zigbee2mqtt/vasteras"}, seed=7)
    devices = [SimDevice("vasteras", "zigbee2mqtt", a, "passive_sensor", "r-1001") for a in SENSORS]
    (flat,) = build("zigbee2mqtt", ctx, devices)  # built through the registry, as the demo does
    assert isinstance(flat, Zigbee2MqttFlat)
    flat.leak = leak
    return flat


async def _night(gw: Gateway, broker: MemoryBroker, clock: FakeClock,
                 flat: Zigbee2MqttFlat) -> None:
    runner = ScenarioRunner(clock)
    await flat.mqtt.connect()
    flat.schedule(runner)
    task = asyncio.create_task(runner.run(until=HOURS * 3600))
    # Minute by minute, letting the gateway store what arrived before time moves on
    # (its store writes on a thread, which a fake clock does not wait for by itself).
    for _ in range(HOURS * 60):
        await clock.advance(60)
        for client in broker.clients:
            await client.drain()
    await asyncio.wait_for(task, 5)
    assert runner.failed == 0


def _readings(gw: Gateway, device: str, key: str) -> list[bool]:
    events = gw.store.query_events("vasteras", types=["sensor.reported"],
                                   device=f"zigbee2mqtt:{device}", limit=10_000)
    ordered = sorted((e.event for e in events), key=lambda e: e.time)
    return [getattr(e.data.readings, key) for e in ordered]


async def test_zigbee2mqtt_is_a_registered_family() -> None:
    assert "zigbee2mqtt" in families()


async def test_a_night_in_the_flat_is_stored_as_sensor_events(
    flat_gateway: Gateway, broker: MemoryBroker, clock: FakeClock
) -> None:
    gw = flat_gateway
    flat = _flat(broker, clock, leak=True)
    await _night(gw, broker, clock, flat)

    counts = gw.store.count_events("vasteras")
    assert gw.store.count_dead_letters() == 0
    # every state message is a sensor report, a battery reading and a heartbeat
    assert counts["sensor.reported"] == counts["device.battery"] == counts["device.heartbeat"]
    assert counts["sensor.reported"] + counts["device.online"] == flat.published
    # each sensor announced itself online at the start, then after about 3, 6 and 9 hours
    assert counts["device.online"] == len(SENSORS) * 4

    # goes to bed, gets up once in the night, back to bed, up in the morning
    bed = _readings(gw, "r1001_bed", "occupancy")
    changes = [v for i, v in enumerate(bed) if i == 0 or v != bed[i - 1]]
    assert changes == [False, True, False, True, False]
    door = _readings(gw, "r1001_door", "contact")
    assert door.count(False) >= 3 and door[0] is True
    assert True in _readings(gw, "r1001_motion", "occupancy")
    leak = _readings(gw, "r1001_leak", "water_leak")
    assert True in leak and leak[-1] is False

    # the events carry the resident's pseudonym from the care configuration
    some = gw.store.query_events("vasteras", types=["sensor.reported"], limit=50)
    assert {e.event.resident for e in some} == {"r-1001"}


async def test_batteries_drain_over_the_night(
    flat_gateway: Gateway, broker: MemoryBroker, clock: FakeClock
) -> None:
    gw = flat_gateway
    await _night(gw, broker, clock, _flat(broker, clock, leak=False))
    for device in SENSORS[:3]:
        events = gw.store.query_events("vasteras", types=["device.battery"],
                                       device=f"zigbee2mqtt:{device}", limit=10_000)
        levels = [e.data.level_pct for e in sorted((s.event for s in events),
                                                    key=lambda e: e.time)]
        assert len(levels) > 10
        assert levels == sorted(levels, reverse=True), device
    assert True not in _readings(gw, "r1001_leak", "water_leak")  # this flat had no leak
