"""A gateway with both dispenser adapters, served over real HTTP, on a fake clock."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway import FakeClock
from gateway.cli.runtime import Runtime
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from tests.services import free_port

TENANT = "vasteras"
API_KEY = "dv-org-4711-7bd1c0ffee"
INSTANCE = "dosvakt-vasteras"

CARE: dict[str, Any] = {"tenants": [{
    "id": TENANT,
    "name": "Västerås stad",
    "alarms": {"receivers": ["centre", "team-norr"], "ack_deadline_s": 120},
    "residents": [{"id": "r-1001"}],
    "devices": [
        {"adapter": "dosvakt", "address": "DV-1", "kind": "medication_dispenser",
         "resident": "r-1001", "location": "Kök"},
        {"adapter": "medikub", "address": "MK-1", "kind": "medication_dispenser",
         "resident": "r-1001", "location": "Kök"},
    ],
    "plans": [{"id": "plan-1001", "resident": "r-1001",
               "medication": {"receivers": ["team-norr", "centre"], "window_s": 1800}}],
}]}


def settings_for(tmp_path: Path, **dosvakt: Any) -> Settings:
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump(CARE, allow_unicode=True), encoding="utf-8")
    dv = {"api_key_sha256": [hashlib.sha256(API_KEY.encode()).hexdigest()], **dosvakt}
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        http={"host": "127.0.0.1", "port": free_port()},
        adapters=[{"adapter": "dosvakt", "tenant": TENANT, "settings": dv},
                  {"adapter": "medikub", "tenant": TENANT}],
        db_synchronous="OFF",  # a fake-clock test commits at every step; no crash here
        heartbeats={"store": True},  # tests prove every vendor event is stored exactly once
    )


@dataclass
class Served:
    gw: Gateway
    url: str
    broker: MemoryBroker
    clock: FakeClock

    @property
    def ingress(self) -> str:
        return f"{self.url}/ingress/{INSTANCE}/events"

    async def settle(self) -> None:
        """Let MQTT deliveries, the store and the rules finish what is under way."""
        assert self.gw.rules is not None
        for _ in range(3):
            for client in self.broker.clients:
                await client.drain()
            await self.gw.store.write(lambda conn: None)
            for _ in range(20):
                await asyncio.sleep(0)
            await self.gw.rules.drain()

    def events(self, *types: str, device: str | None = None) -> list[Any]:
        return [s.event for s in self.gw.store.query_events(
            TENANT, types=types, device=device, limit=100_000)]


@pytest.fixture
async def served(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Served]:
    settings = settings_for(tmp_path)
    broker = MemoryBroker()
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    runtime = Runtime(settings, gateway=gw)
    await runtime.start()
    assert runtime.url is not None
    try:
        yield Served(gw, runtime.url, broker, clock)
    finally:
        await runtime.stop()
