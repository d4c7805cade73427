"""A slow gateway loses nothing: the embedded broker's queue limits never drop QoS 1.

Mosquitto's default (``max_queued_messages 1000``) silently dropped a third of
100,000 QoS 1 messages sent faster than one subscriber read them (DESIGN.md).
Here the subscriber is stalled outright while 5,000 messages are published, so
everything beyond the in-flight window must wait in the broker's queue.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.transports.base import MqttMessage
from gateway.transports.broker import EmbeddedBroker
from gateway.transports.mosquitto import BrokerLimits, MosquittoProcess
from gateway.transports.mqtt import PahoMqttClient
from tests.services import require_binary

from .conftest import MOSQUITTO_HOW, WAIT, ClientFactory, Inbox

COUNT = 5_000


async def _publish_while_subscriber_stalls(
    port: int, mqtt_client: ClientFactory, count: int
) -> tuple[Inbox, PahoMqttClient]:
    gate = asyncio.Event()
    inbox = Inbox()

    async def slow_gateway(msg: MqttMessage) -> None:
        await gate.wait()  # stands in for a store that is busy for a while
        await inbox(msg)

    sub = await mqtt_client(port, "slow-gateway")
    await sub.subscribe("load/#", slow_gateway, qos=1)
    pub = await mqtt_client(port, "fast-publisher", persistent=False)

    async def publish_all() -> None:
        await asyncio.gather(*(pub.publish(f"load/{i % 50}", str(i), qos=1)
                               for i in range(count)))

    await asyncio.wait_for(publish_all(), 60)  # every PUBACK arrived: the broker has them all
    assert inbox.messages == []
    gate.set()
    return inbox, pub


@pytest.mark.slow
async def test_5000_qos1_messages_to_a_slow_subscriber_all_arrive(
    tmp_path: Path, mqtt_client: ClientFactory
) -> None:
    require_binary("mosquitto", MOSQUITTO_HOW, "/usr/sbin/mosquitto")
    async with EmbeddedBroker(port=0, impl="mosquitto", data_dir=tmp_path / "b") as broker:
        inbox, _ = await _publish_while_subscriber_stalls(broker.port, mqtt_client, COUNT)
        await inbox.wait_for(COUNT, timeout=WAIT * 4)

    received = [int(p) for p in inbox.payloads]
    assert sorted(received) == list(range(COUNT))
    per_topic: dict[str, list[int]] = {}
    for msg in inbox.messages:
        per_topic.setdefault(msg.topic, []).append(int(msg.payload))
    assert all(v == sorted(v) for v in per_topic.values()), "order per topic was lost"


def test_broker_config_has_no_dropping_queue_limit() -> None:
    text = MosquittoProcess(port=1, data_dir=Path("/nonexistent")).config_text()
    assert "max_queued_messages 0\n" in text
    assert "max_queued_bytes 0\n" in text
    assert "persistence true\n" in text


@pytest.mark.slow
async def test_mosquitto_default_limit_would_drop(
    tmp_path: Path, mqtt_client: ClientFactory
) -> None:
    """Control experiment: with Mosquitto's default limit the same load loses messages.

    Shows the test above can fail, and why Navet's configuration differs.
    """
    binary = require_binary("mosquitto", MOSQUITTO_HOW, "/usr/sbin/mosquitto")
    proc = MosquittoProcess(data_dir=tmp_path / "m", binary=binary,
                            limits=BrokerLimits(max_queued_messages=1000,
                                                max_inflight_messages=20))
    await proc.start()
    try:
        inbox, pub = await _publish_while_subscriber_stalls(proc.port, mqtt_client, 2_000)
        await inbox.wait_for(1_000)  # the queue is draining, so there is room again
        await pub.publish("load/end", b"end", qos=1)
        await inbox.wait_for(1)
        while inbox.payloads[-1] != b"end":  # same publisher: everything kept comes first
            await inbox.wait_for(len(inbox.messages) + 1)
    finally:
        await proc.stop()
    kept = len(inbox.messages) - 1
    assert 1_000 <= kept < 2_000, f"{kept} of 2000 delivered"
