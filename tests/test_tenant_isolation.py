"""A consumer subscribed for one municipality never receives another's events.

Webhook and MQTT northbound subscriptions belong to a tenant; the outbox
fans an event out only to its own tenant's subscriptions. Two tenants' sensors
report; each tenant's webhook consumer gets exactly its own events.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gateway import FakeClock, RawFrame
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker

from .test_end_to_end import Consumer, _serve


async def test_each_tenants_webhook_gets_only_its_own_events(
    tmp_path: Path, clock: FakeClock, broker: MemoryBroker,
) -> None:
    consumer = Consumer()
    server, task = await _serve(consumer, consumer.port, lifespan="off")
    secret = "tenant-isolation-secret-0123456789"
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # the webhook consumer runs on this machine
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"},
                  {"adapter": "zigbee2mqtt", "tenant": "sala",
                   "settings": {"base_topic": "z2m-sala"}}],
        subscriptions=[
            {"id": f"hook-{t}", "tenant": t, "sink": "webhook", "types": ["*"],
             "settings": {"url": f"http://127.0.0.1:{consumer.port}/{t}", "secret": secret}}
            for t in ("vasteras", "sala")],
    )
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        for i in range(5):
            await gw.ingest(RawFrame("zigbee2mqtt", "vasteras", "mqtt", f"zigbee2mqtt/v{i}",
                                     b'{"occupancy": true}', clock.now(),
                                     instance="zigbee2mqtt-vasteras"))
            # decoded with the Sala instance's own settings (its base topic)
            await gw.ingest(RawFrame("zigbee2mqtt", "sala", "mqtt", f"z2m-sala/s{i}",
                                     b'{"contact": false}', clock.now(),
                                     instance="zigbee2mqtt-sala"))
        await wait_until(lambda: len(consumer.at("/vasteras")) >= 5 and
                     len(consumer.at("/sala")) >= 5, "both consumers")
        await asyncio.sleep(0.2)  # anything misrouted would have arrived by now too
    finally:
        await gw.stop()
        server.should_exit = True
        await task

    def tenants(path: str) -> set[Any]:
        return {json.loads(body)["navettenant"] for _, body in consumer.at(path)}

    assert tenants("/vasteras") == {"vasteras"}
    assert tenants("/sala") == {"sala"}
