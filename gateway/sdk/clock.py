"""Injected time. Every timer in Navet (heartbeats, escalation, schedules,
simulators) asks a :class:`Clock`, so a test can run a night of device life in
milliseconds with :class:`FakeClock`."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class FakeClock:
    """A clock that only moves when told to. Sleepers wake in deadline order."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._sleepers, (self._now + timedelta(seconds=seconds), next(self._seq), fut)
        )
        await fut

    async def advance(self, seconds: float, *, step: float | None = None) -> None:
        """Move time forward, waking each sleeper at its deadline in order.

        Between wake-ups the event loop runs so woken tasks can react (and
        sleep again) before time moves on. ``step`` caps each jump.
        """
        target = self._now + timedelta(seconds=seconds)
        while True:
            await _settle()
            nxt = self._sleepers[0][0] if self._sleepers else None
            if nxt is None or nxt > target:
                break
            if step is not None:
                nxt = min(nxt, self._now + timedelta(seconds=step))
            self._now = max(self._now, nxt)
            while self._sleepers and self._sleepers[0][0] <= self._now:
                _, _, fut = heapq.heappop(self._sleepers)
                if not fut.done():
                    fut.set_result(None)
        self._now = target
        await _settle()


async def _settle(rounds: int = 20) -> None:
    """Let the tasks a wake-up made ready run, up to ``rounds`` turns of the event loop.

    It stops early once a turn leaves nothing ready: every task is then waiting for
    something (a future, a socket, this clock), and more turns would only spin. A
    1-second watcher over a simulated night wakes 28,800 times; spinning 20 turns
    after each wake-up made such a test take seconds of work for nothing.
    """
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)  # CPython's run queue; another loop spins all rounds
    for _ in range(rounds):
        await asyncio.sleep(0)
        if ready is not None and not ready:
            return
