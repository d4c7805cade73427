"""FakeClock: time moves only when told, sleepers wake in order and react before it moves on."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest

from gateway import FakeClock
from gateway.sdk import clock as clock_module


async def test_sleepers_wake_in_deadline_order_at_their_deadlines() -> None:
    clock = FakeClock()
    start = clock.now()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, (clock.now() - start).total_seconds()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("c", 30), ("a", 10), ("b", 20))]
    await clock.advance(25)
    assert woke == [("a", 10), ("b", 20)]
    assert clock.now() == start + timedelta(seconds=25)
    await clock.advance(5)
    assert woke[-1] == ("c", 30)
    await asyncio.gather(*tasks)


async def test_a_woken_task_finishes_its_chain_of_work_before_time_moves_on() -> None:
    clock = FakeClock()
    seen: list[float] = []

    async def hop(n: int) -> None:
        for _ in range(n):
            await asyncio.sleep(0)

    async def periodic() -> None:
        while True:
            await clock.sleep(60)
            await hop(5)  # a few awaits of work after each wake-up, then sleep again
            seen.append(clock.now().timestamp())

    task = asyncio.create_task(periodic())
    try:
        await clock.advance(600)
        assert len(seen) == 10
        assert [b - a for a, b in itertools.pairwise(seen)] == [60.0] * 9
    finally:
        task.cancel()


async def test_a_one_second_watcher_over_an_hour_does_not_spin_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between wake-ups the clock lets ready tasks run, and stops once none is ready.

    A gateway has a watcher that looks every second; a test that simulates a night wakes
    it 28,800 times, so turns of the loop spent with nothing to do multiply into seconds.
    """
    clock = FakeClock()
    turns = 0
    real_sleep = asyncio.sleep

    async def counted(delay: float, result: object = None) -> object:
        nonlocal turns
        turns += 1
        return await real_sleep(delay, result)

    looks = 0

    async def watcher() -> None:
        nonlocal looks
        while True:
            looks += 1
            await clock.sleep(1)

    task = asyncio.create_task(watcher())
    await real_sleep(0)
    monkeypatch.setattr(clock_module.asyncio, "sleep", counted)
    try:
        await clock.advance(3600)
    finally:
        monkeypatch.undo()
        task.cancel()
    assert looks == 3601
    assert turns <= 3 * 3600, f"{turns} turns of the loop for 3600 wake-ups"
