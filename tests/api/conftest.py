"""Fixtures for the HTTP API: a gateway with two tenants, the app, and clients.

``client`` talks to the app in-process (httpx ``ASGITransport``, lifespan run
by hand because ASGITransport does not). ``server`` runs the same app under a
real uvicorn on a free port on the test's own event loop, for what needs a
real HTTP connection: the endlessly streaming SSE endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from gateway import FakeClock, RawFrame
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker
from tests.services import free_port

T0 = datetime.fromisoformat("2026-01-01T00:00:00+00:00")

CARE = {
    "tenants": [
        {
            "id": "vasteras",
            "name": "Västerås stad",
            "residents": [{"id": "r-1", "label": "Lgh 1102"}, {"id": "r-2", "label": "Lgh 1204"}],
            "devices": [
                {"adapter": "zigbee2mqtt", "address": "bed", "kind": "passive_sensor",
                 "resident": "r-1", "location": "Bedroom"},
                {"adapter": "zigbee2mqtt", "address": "door", "kind": "passive_sensor",
                 "resident": "r-2"},
            ],
        },
        {"id": "orebro", "name": "Örebro kommun"},
    ]
}


def frame(tenant: str, name: str, body: dict[str, Any] | bytes, at: datetime = T0) -> RawFrame:
    """A Zigbee2MQTT message from device ``name``; ``last_seen`` fixes the event time."""
    if isinstance(body, dict):
        payload = json.dumps({**body, "last_seen": at.isoformat()}).encode()
    else:
        payload = body
    return RawFrame("zigbee2mqtt", tenant, "mqtt", f"zigbee2mqtt/{name}", payload, at)


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    return Settings(
        data_dir=tmp_path,
        mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # the FHIR rest-hook endpoints run on this machine
        adapters=[
            {"adapter": "zigbee2mqtt", "tenant": "vasteras"},
            {"adapter": "zigbee2mqtt", "tenant": "orebro",
             "settings": {"base_topic": "z2m-orebro"}},
        ],
        care_config=[care],
    )


@pytest.fixture
def gw(api_settings: Settings, clock: FakeClock, broker: MemoryBroker) -> Gateway:
    """A gateway not yet started: the app's lifespan starts and stops it."""
    return Gateway(api_settings, clock=clock, mqtt=broker.client("navet"))


@pytest.fixture
async def app(gw: Gateway) -> AsyncIterator[FastAPI]:
    application = create_app(gateway=gw)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://navet") as c:
        yield c


class _Server(uvicorn.Server):
    """uvicorn that leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def server(gw: Gateway) -> AsyncIterator[str]:
    """Base URL of the app served by uvicorn on this loop (lifespan included)."""
    port = free_port()
    config = uvicorn.Config(
        create_app(gateway=gw), host="127.0.0.1", port=port, lifespan="on",
        log_level="warning", timeout_graceful_shutdown=2,
    )
    srv = _Server(config)
    task = asyncio.create_task(srv.serve())
    await wait_until(lambda: srv.started or task.done(), "uvicorn to start")
    assert not task.done(), "uvicorn stopped during startup"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        async with asyncio.timeout(15):
            await task


def later(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)
