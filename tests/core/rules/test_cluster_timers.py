"""Rule timers with several instances (scale-out) on one PostgreSQL schema.

Each heartbeat reaches one instance (shared subscriptions); the rule timers run on
the one instance holding the lease ``rules.timers``. That instance must not call a
device silent that another instance hears (it reads the stored last-seen every
instance flushes), must raise a really silent device once, must end the silence
another instance hears, and its timers move when it dies.

Leases run on the gateways' fake clock; the test makes them long, so that a jump of
the clock does not hand the timers to the other instance by expiry, and moves them
only by a death.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import yaml

from gateway import FakeClock
from gateway.core.gateway import TIMERS_LEASE, Gateway
from gateway.core.settings import Settings
from gateway.core.store.repos import cluster as sql
from gateway.transports.memory import MemoryBroker
from tests.postgres import PgServer

from .helpers import BED, CARE, CHAIN, TENANT, alarms_of, raised, settle, stored, z2m

SILENT = "technical.unit_silent"
DAY_MS = 86_400_000


def beat(n: int) -> dict[str, int]:
    return {"linkquality": 40 + n % 50}


@pytest.fixture
async def cluster(pg_server: PgServer, tmp_path: Path,
                  clock: FakeClock) -> AsyncIterator[Callable[[str], Gateway]]:
    url = pg_server.fresh_url()
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump(CARE, allow_unicode=True), encoding="utf-8")
    broker = MemoryBroker()
    made: list[Gateway] = []

    def make(name: str) -> Gateway:
        settings = Settings(
            data_dir=tmp_path / name, database=url, instance=name,
            mqtt={"mode": "memory", "share_group": "navet"},
            adapters=[{"adapter": "zigbee2mqtt", "tenant": TENANT}], care_config=[care])
        gw = Gateway(settings, clock=clock, mqtt=broker.client(f"navet-gateway.{name}"))
        made.append(gw)
        return gw

    yield make
    for gw in reversed(made):
        if gw.started:
            with contextlib.suppress(Exception):
                await gw.stop()


async def start(gw: Gateway) -> None:
    await gw.start()
    assert gw.cluster is not None and gw.rules is not None
    gw.cluster.lease_ms = DAY_MS  # a jump of the fake clock must not expire the lease


async def leading(gw: Gateway, timeout: float = 15) -> None:
    """Wait (real time) until ``gw`` runs the rule timers."""
    assert gw.rules is not None
    async with asyncio.timeout(timeout):
        while not gw.rules.leading:
            await asyncio.sleep(0.05)
    for _ in range(20):  # its timers' first pass (the load) gets under way
        await asyncio.sleep(0)


async def pass_time(gws: list[Gateway], clock: FakeClock, seconds: float,
                    step: float = 60) -> None:
    left = seconds
    while left > 0:
        await clock.advance(min(step, left))
        left -= step
        for gw in gws:
            await settle(gw)


async def test_heartbeats_heard_by_one_instance_keep_the_lease_holder_from_a_false_alarm(
        cluster: Callable[[str], Gateway], clock: FakeClock) -> None:
    b = cluster("b")
    await start(b)
    await leading(b)  # b supervises
    a = cluster("a")
    await start(a)
    both = [a, b]
    await asyncio.sleep(1.5)  # a's lease attempts pass
    assert a.rules is not None and not a.rules.leading
    owner, _ = (await a.store.read(sql.leases))[TIMERS_LEASE]
    assert owner == "b"

    for n in range(24):  # four hours of the bed's heartbeats (600 s), all reaching a
        await z2m(a, clock, "r1001_bed", beat(n))
        await pass_time(both, clock, 600)
    assert alarms_of(a, SILENT, device=BED) == []  # b read what a flushed

    last = clock.now().timestamp() - 600
    await pass_time(both, clock, 1500 + 60 + 120)  # tolerance + flush interval: silent
    [alarm] = alarms_of(a, SILENT, device=BED)
    assert alarm.time.timestamp() == pytest.approx(last + 1500 + 60, abs=60)

    await z2m(a, clock, "r1001_bed", beat(99))  # back, heard by a (routine there)
    await pass_time(both, clock, 180)  # a flushes it, b looks again and ends the episode
    [online] = stored(a, "device.online", device=BED)
    assert online.alarm == alarm.alarm
    [closed] = stored(a, "alarm.closed", alarm=alarm.alarm)
    assert closed.data.outcome == "technical_fixed"  # type: ignore[attr-defined]
    assert len(alarms_of(a, SILENT, device=BED)) == 1


async def test_the_timers_move_when_their_holder_dies(
        cluster: Callable[[str], Gateway], clock: FakeClock) -> None:
    b = cluster("b")
    await start(b)
    await leading(b)
    a = cluster("a")
    await start(a)
    await asyncio.sleep(1.5)
    assert a.rules is not None and b.rules is not None and not a.rules.leading

    # b dies: its timers and lease renewals stop, the server drops its instance lock
    assert b.cluster is not None
    b.cluster._task.cancel()  # type: ignore[union-attr]
    await b.rules.stop()
    b.store.close()
    assert a.cluster is not None
    await a.cluster.watch()  # (a looks every second anyway) b is gone: its leases too
    await leading(a)
    owner, _ = (await a.store.read(sql.leases))[TIMERS_LEASE]
    assert owner == "a"

    await pass_time([a], clock, 600 + 1500 + 60 + 120)  # nobody heard the bed: silent
    [alarm] = alarms_of(a, SILENT, device=BED)
    assert alarm.device is not None and alarm.device.id == BED


async def test_an_alarm_stored_by_another_instance_escalates_on_the_lease_holder(
        cluster: Callable[[str], Gateway], clock: FakeClock) -> None:
    b = cluster("b")
    await start(b)
    await leading(b)
    a = cluster("a")
    await start(a)
    await asyncio.sleep(1.5)
    assert a.rules is not None and not a.rules.leading

    await a.store.append([raised(clock).model_copy(update={"received": clock.now()})])
    await settle(a)
    await asyncio.sleep(1.5)  # b observes the others' alarm events every second
    await pass_time([a, b], clock, 130, step=10)  # ack_deadline_s 120: not acknowledged
    async with asyncio.timeout(15):  # b's look at the others' commits runs in real time
        while not stored(a, "alarm.escalated", alarm="a-1"):
            await asyncio.sleep(0.1)
            await settle(b)
    [escalated] = stored(a, "alarm.escalated", alarm="a-1")
    assert escalated.data.to == CHAIN[1]  # type: ignore[attr-defined]
