"""End to end over a real broker: Zigbee2MQTT in, store, CloudEvents out on MQTT."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import from_cloudevent
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.mosquitto import MosquittoProcess

from .conftest import ClientFactory, Inbox, wait_until


@pytest.fixture
async def gateway(tmp_path: Path, mosquitto: MosquittoProcess) -> AsyncIterator[Gateway]:
    settings = Settings(
        data_dir=tmp_path,
        mqtt={"mode": "external", "host": "127.0.0.1", "port": mosquitto.port,
              "client_id": "navet-e2e"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
        subscriptions=[{"id": "nb", "tenant": "vasteras", "sink": "mqtt", "types": ["*"]}],
    )
    gw = Gateway(settings)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


async def test_zigbee2mqtt_message_is_stored_and_published_as_cloudevents(
    gateway: Gateway, mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    consumer = await mqtt_client(mosquitto.port, "alarm-centre", persistent=False)
    northbound = Inbox()
    await consumer.subscribe("navet/vasteras/events/#", northbound, qos=1)
    bridge = await mqtt_client(mosquitto.port, "zigbee2mqtt-bridge", persistent=False)

    await bridge.publish(
        "zigbee2mqtt/hall_door",
        json.dumps({"contact": False, "battery": 15, "linkquality": 80,
                    "last_seen": "2026-01-01T00:00:00Z"}),
        qos=1,
    )

    expected = {"device.battery", "device.heartbeat", "sensor.reported"}
    await wait_until(lambda: expected <= set(gateway.store.count_events("vasteras")),
                     "the events to be stored")
    counts = gateway.store.count_events("vasteras")
    assert {t: counts[t] for t in expected} == dict.fromkeys(expected, 1)

    def published() -> set[str]:
        return {m.topic for m in northbound.messages}

    wanted = {"navet/vasteras/events/device.battery", "navet/vasteras/events/sensor.reported"}
    await wait_until(lambda: wanted <= published(), "CloudEvents on the northbound topics")
    assert "navet/vasteras/events/device.heartbeat" not in published()  # last-seen only
    by_topic = {m.topic: json.loads(m.payload) for m in northbound.messages}
    sensor = from_cloudevent(by_topic["navet/vasteras/events/sensor.reported"])
    assert sensor.tenant == "vasteras"
    assert sensor.model_dump(mode="json")["data"]["readings"]["contact"] is False
    battery = from_cloudevent(by_topic["navet/vasteras/events/device.battery"])
    assert battery.model_dump(mode="json")["data"]["low"] is True
    stored = {e.id for e in (sensor, battery)}
    assert all(gateway.store.get_event("vasteras", i) is not None for i in stored)
