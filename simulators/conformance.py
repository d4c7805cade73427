"""Simulators as the conformance kit's frame sources (``simulator`` in conformance.json).

The kit asks for ``frames(count)``: frames the adapter must turn into events, the
same on every run. An MQTT simulator publishes through a client on a clock; here
it runs on an in-memory broker and a fake clock from a fixed start, and what it
publishes is captured as frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway import FakeClock, MqttClient, MqttMessage
from gateway.transports.memory import MemoryBroker

from .medication_day import DoseScript
from .medication_mqtt import MedikubDispenser
from .runner import ScenarioRunner
from .zigbee2mqtt import Zigbee2MqttFlat

START = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


async def _capture(build: Callable[[MqttClient, FakeClock], Any], seconds: float,
                   count: int) -> list[dict[str, str]]:
    broker = MemoryBroker()
    clock = FakeClock(START)
    frames: list[dict[str, str]] = []

    async def take(msg: MqttMessage) -> None:
        frames.append({"address": msg.topic, "transport": "mqtt",
                       "payload": msg.payload.decode("utf-8")})

    watcher = broker.client("conformance-kit")
    await watcher.connect()
    await watcher.subscribe("#", take, qos=1)
    client = broker.client("simulator")
    await client.connect()
    simulator = build(client, clock)
    runner = ScenarioRunner(clock)
    simulator.schedule(runner, days=1)
    task = asyncio.create_task(runner.run(until=seconds))
    while not task.done() and len(frames) < count:
        await clock.advance(60)
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.disconnect()
    await watcher.disconnect()
    return frames[:count]


def zigbee2mqtt_frames(count: int) -> list[dict[str, str]]:
    """A night in a flat with a bed, a door, a motion and a water-leak sensor."""
    def flat(client: MqttClient, clock: FakeClock) -> Zigbee2MqttFlat:
        return Zigbee2MqttFlat(client, clock, ["r1_bed", "r1_door", "r1_motion", "r1_leak"],
                               name="conformance", seed=1, leak=True)

    return asyncio.run(_capture(flat, 86_400, count))


def medikub_frames(count: int) -> list[dict[str, str]]:
    """A day at one Medikub dispenser: connection, heartbeats, doses taken and missed."""
    def dispenser(client: MqttClient, clock: FakeClock) -> MedikubDispenser:
        return MedikubDispenser(client, clock, "MK-2001",
                                DoseScript("conformance", seed=1, misses_first=True))

    return asyncio.run(_capture(dispenser, 86_400, count))
