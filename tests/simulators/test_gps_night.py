"""A night walk by the simulated GPS watch, pushed by the simulated Stigfinnare cloud over
real HTTP into a gateway on a fake clock: out of the night-time home fence, SOS out
there, back home, battery reports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators import ScenarioRunner, SimContext, SimDevice, build, families
from simulators.gps import GpsTracker
from tests.core.rules.helpers import settle
from tests.plugins.alarms.gps.stigfinnare import IMEI, RESIDENT, TENANT, care, instance_settings
from tests.services import free_port

NIGHT = datetime(2026, 1, 14, 21, 30, tzinfo=UTC)  # 22:30 in Stockholm


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NIGHT)


@pytest.fixture
async def served(tmp_path: Path, clock: FakeClock,
                 broker: MemoryBroker) -> AsyncIterator[tuple[Gateway, str]]:
    file = tmp_path / "care.yaml"
    file.write_text(yaml.safe_dump(care()), encoding="utf-8")
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[file],
                        adapters=[{"adapter": "stigfinnare", "tenant": TENANT,
                                   "settings": instance_settings()}])
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    port = free_port()
    srv = _Server(uvicorn.Config(create_app(gateway=gw), host="127.0.0.1", port=port,
                                 lifespan="on", log_level="warning"))
    task = asyncio.create_task(srv.serve())
    async with asyncio.timeout(10):
        while not srv.started:
            assert not task.done(), "uvicorn stopped during startup"
            await asyncio.sleep(0.01)
    try:
        yield gw, f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        async with asyncio.timeout(15):
            await task


async def run_for(runner: ScenarioRunner, gw: Gateway, clock: FakeClock,
                  seconds: float) -> None:
    """Advance in 10 s steps; before each step the runner has finished its action (its
    HTTP request answered) and the rules have seen what was stored."""
    task = asyncio.create_task(runner.run(until=runner.now + seconds))
    left = seconds
    while left > 0:
        async with asyncio.timeout(10):
            while not (runner.sleeping or task.done()):
                await asyncio.sleep(0.005)
        await settle(gw)
        await clock.advance(min(10, left))
        left -= 10
    async with asyncio.timeout(10):
        await task
    await settle(gw)


def alarms(gw: Gateway) -> list[tuple[str, str]]:
    out = []
    for s in gw.store.query_events(TENANT, types=["alarm."], limit=10_000):
        data: Any = s.event.data
        detail = str(getattr(data, "kind", "") or getattr(data, "reason", "")
                     or (data.text or "").split(":")[0].split(";")[0])
        out.append((s.event.type, detail))
    return out


async def test_the_watch_walks_out_at_night_presses_sos_and_comes_back(
    served: tuple[Gateway, str], clock: FakeClock, broker: MemoryBroker
) -> None:
    gw, url = served
    assert "stigfinnare" in families()
    ctx = SimContext(broker.client("sim"), clock, TENANT, instance_settings(), seed=3,
                     http_url=url, instance_id=f"stigfinnare-{TENANT}")
    (watch,) = build("stigfinnare", ctx, [SimDevice(TENANT, "stigfinnare", IMEI, "gps_alarm",
                                                    RESIDENT)])
    assert isinstance(watch, GpsTracker)
    runner = ScenarioRunner(clock)
    watch.schedule(runner)

    await run_for(runner, gw, clock, 110)  # at home: a fix, a heartbeat with the battery
    assert alarms(gw) == []
    counts = gw.store.count_events(TENANT)
    assert counts["position.reported"] == 1 and counts["device.heartbeat"] == 1
    assert counts["device.battery"] == 1

    # the walk starts at 120 s, 35 m north every 30 s; the fence reaches 80 m
    await run_for(runner, gw, clock, 125)  # 35, 70, 105, 140 m: one clear fix outside
    assert alarms(gw) == []
    await run_for(runner, gw, clock, 10)  # 175 m at 240 s: the second in a row
    assert alarms(gw) == [("alarm.raised", "gps.geofence_exit")]

    await run_for(runner, gw, clock, 455)  # on to 420 m, wander, SOS at 661 s
    assert alarms(gw) == [("alarm.raised", "gps.geofence_exit"),
                          ("alarm.updated", "position update"),  # 300 s after the raise
                          ("alarm.raised", "personal_button"),
                          ("alarm.raised", "gps.panic_outside"),
                          # folded into the panic alarm, never cancelled (issue 12)
                          ("alarm.updated", "the device's alarm moved here")]

    await run_for(runner, gw, clock, 500)  # wander on, walk back, home by 1140 s
    assert alarms(gw)[5:] == [("alarm.updated", "position update"),  # exit alarm, 840 s
                              ("alarm.updated", "position update"),  # panic alarm, 960 s
                              ("alarm.updated", "back inside geofence 'Hemma'")]
    open_kinds = sorted(a.kind for a in await gw.alarms.open_alarms(TENANT))
    assert open_kinds == ["gps.geofence_exit", "gps.panic_outside"]
    assert watch.failed == 0
    assert gw.store.count_dead_letters() == 0
    stored = sum(1 for s in gw.store.query_events(TENANT, limit=10_000)
                 if s.event.source.adapter == "stigfinnare"
                 and s.event.type in ("position.reported", "device.heartbeat"))
    assert stored == watch.published  # every message: one fix or one heartbeat
