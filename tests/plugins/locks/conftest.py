"""Both lock vendors against one gateway: the Portvakt cloud simulator over real HTTP
(its webhooks reach the gateway's ingress served by uvicorn) and a Låsbro bridge on the
in-memory MQTT broker. Real time (SystemClock) with short intervals: the HTTP servers
run on real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway import SystemClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker
from simulators.locks_cloud import CloudLock, PortvaktCloud
from simulators.locks_mqtt import BridgeLock, LasbroBridge
from tests.services import free_port

TENANT = "vasteras"
API_KEY = "pv-test-key-0001"
SECRET = "whsec-test-0123456789abcdef"

CARE: dict[str, Any] = {"tenants": [{
    "id": TENANT, "name": "Västerås", "timezone": "UTC",
    "locks": {"grace_before_s": 600, "grace_after_s": 600},
    "residents": [{"id": "r-1"}, {"id": "r-2"}],
    "devices": [
        {"adapter": "portvakt", "address": "PV-1", "kind": "door_lock", "resident": "r-1"},
        {"adapter": "lasbro", "address": "LB-1", "kind": "door_lock", "resident": "r-2"},
    ],
    "plans": [
        {"id": "p-1", "resident": "r-1", "visits": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
             "end": "23:59", "staff": "s-anna"}]},
        {"id": "p-2", "resident": "r-2", "visits": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00",
             "end": "23:59", "staff": "s-anna"}]},
    ],
    "staff": [{"id": "s-anna", "roles": ["home_care"], "teams": ["norr"]}],
}]}


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Rig:
    gw: Gateway
    cloud: PortvaktCloud
    bridge: LasbroBridge
    url: str

    def events(self, *types: str) -> list[Any]:
        return [s.event for s in self.gw.store.query_events(TENANT, types=list(types),
                                                             limit=1000)]

    def portvakt(self) -> Any:
        return self.gw.adapter_instances["portvakt-vasteras"]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = SystemClock()
    cloud = PortvaktCloud(clock=clock, api_key=API_KEY, secret=SECRET,
                          locks={"PV-1": CloudLock("PV-1")}, port=free_port(),
                          push_retry_s=0.05)
    await cloud.start()
    broker = MemoryBroker()
    bridge = LasbroBridge(broker.client("bridge"), clock, locks={"LB-1": BridgeLock("LB-1")})
    port = free_port()
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        outbound={"allow_loopback": True},  # the simulated Portvakt cloud runs on this machine
        adapters=[
            {"adapter": "portvakt", "tenant": TENANT, "settings": {
                "api_url": cloud.url, "api_key": API_KEY, "webhook_secret": SECRET,
                "public_url": f"http://127.0.0.1:{port}", "poll_s": 0.2, "catchup_s": 0,
                "retry_base_s": 0.05, "retry_max_s": 0.2, "command_deadline_s": 0.5,
                "down_after": 2, "http_timeout_s": 2}},
            {"adapter": "lasbro", "tenant": TENANT, "settings": {"command_timeout_s": 2}},
        ],
    )
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    srv = _Server(uvicorn.Config(create_app(gateway=gw), host="127.0.0.1", port=port,
                                 lifespan="on", log_level="warning",
                                 timeout_graceful_shutdown=2))
    task = asyncio.create_task(srv.serve())
    async with asyncio.timeout(15):
        while not srv.started:
            assert not task.done(), "uvicorn stopped during startup"
            await asyncio.sleep(0.01)
    await bridge.start()
    rig = Rig(gw, cloud, bridge, f"http://127.0.0.1:{port}")
    await wait_until(lambda: cloud.webhook_url is not None,
                     "the adapter registers its webhook", timeout=15)
    try:
        yield rig
    finally:
        srv.should_exit = True
        async with asyncio.timeout(20):
            await task
        await cloud.stop()


Drive = Callable[[Rig], Awaitable[None]]
