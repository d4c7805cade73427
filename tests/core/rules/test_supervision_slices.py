"""A mass outage: the silent-unit timer raises its alarms in slices and lets the loop run."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway import FakeClock
from gateway.core.directory import DeviceDirectory
from gateway.core.liveness import Liveness
from gateway.core.rules import supervision
from gateway.core.rules.alarms import AlarmBook
from gateway.core.rules.engine import RuleContext
from gateway.core.rules.supervision import SilentUnitRule
from gateway.core.store import make_store

DEVICES = 1200


async def test_a_mass_outage_is_raised_in_slices_with_the_loop_running_between(
    tmp_path: Path,
) -> None:
    store = make_store(tmp_path / "navet.db")
    store.open()
    try:
        rows = [(f"scaip:u{i}", "region", "scaip", f"u{i}", "social_alarm", 60)
                for i in range(DEVICES)]
        await store.write(lambda conn: conn.executemany(
            "INSERT INTO devices (id, tenant, adapter, address, kind, heartbeat_s, body)"
            " VALUES (?, ?, ?, ?, ?, ?, '{}')", rows))
        directory = DeviceDirectory()
        directory.load(store.rows("devices"))
        clock = FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
        ticks = 0
        batches: list[tuple[int, int]] = []  # (alarms, ticks of the other task before it)

        async def emit(events: Any) -> None:
            batches.append((len(events), ticks))

        async def other_work() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        liveness = Liveness()
        rule = SilentUnitRule(AlarmBook(), liveness)
        ctx = RuleContext(clock, store, directory, emit)
        timer = asyncio.create_task(rule.run(ctx))
        other = asyncio.create_task(other_work())
        try:
            while not rule.loaded:
                await asyncio.sleep(0)
            for i in range(DEVICES):  # every unit beats once, then all fall silent
                liveness.beat("region", f"scaip:u{i}", clock.now().timestamp())
            await clock.advance(149)
            assert batches == []  # 2.5 x 60 s: not yet
            await clock.advance(1)
            for _ in range(200):
                if sum(n for n, _ in batches) == DEVICES:
                    break
                await asyncio.sleep(0.01)
        finally:
            timer.cancel()
            other.cancel()
            await asyncio.gather(timer, other, return_exceptions=True)
        assert sum(n for n, _ in batches) == DEVICES == rule.raised
        assert len(batches) >= DEVICES // supervision.SLICE_ALARMS
        assert max(n for n, _ in batches) <= supervision.SLICE_ALARMS
        seen = [t for _, t in batches]
        assert all(b > a for a, b in itertools.pairwise(seen)), \
            "the loop ran other work between slices"
    finally:
        store.close()
