"""Shared fixtures: a gateway on the in-memory MQTT twin and a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        mqtt={"mode": "memory"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
        subscriptions=[{"id": "nb", "tenant": "vasteras", "sink": "mqtt", "types": ["*"]}],
    )


@pytest.fixture
async def gateway(settings: Settings, clock: FakeClock, broker: MemoryBroker) -> AsyncIterator[Gateway]:
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()
