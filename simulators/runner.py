"""A scenario runner: actions scheduled at scenario times, run on an injected clock.

Simulators put actions on the runner (``at``, ``every``); ``run`` performs them
in time order, sleeping on the clock in between. On a :class:`gateway.FakeClock`
a test runs a night of device life in milliseconds by advancing the clock; on
the system clock the demo runs the same script ``speed`` times faster than real
time (waits are divided by ``speed``; the timestamps simulators put in their
messages are always the clock's own ``now()``, so a device never reports from
the future).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gateway import Clock

log = logging.getLogger(__name__)

Action = Callable[[], Awaitable[None]]


@dataclass(order=True)
class _Scheduled:
    at: float
    seq: int
    name: str = field(compare=False)
    action: Action = field(compare=False)


class ScenarioRunner:
    """Runs scheduled actions in order of scenario time (seconds since the start)."""

    def __init__(self, clock: Clock, *, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.clock = clock
        self.speed = speed
        self.now = 0.0  # scenario seconds since the start
        self.performed = 0
        self.failed = 0
        self._queue: list[_Scheduled] = []
        self._seq = itertools.count()
        self._stopped = False
        self.sleeping = False

    def at(self, seconds: float, action: Action, name: str = "") -> None:
        """Perform ``action`` at scenario time ``seconds`` (now, if that is past)."""
        heapq.heappush(self._queue, _Scheduled(max(seconds, self.now), next(self._seq),
                                               name, action))

    def after(self, seconds: float, action: Action, name: str = "") -> None:
        self.at(self.now + seconds, action, name)

    def every(self, interval: float, action: Action, *, start: float = 0.0,
              name: str = "") -> None:
        """Perform ``action`` at ``start`` and then every ``interval`` seconds."""
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")

        async def tick() -> None:
            self.after(interval, tick, name)
            await action()

        self.at(start, tick, name)

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def run(self, until: float | None = None) -> None:
        """Perform actions until none are left or the next one is after ``until``.

        A failing action is logged and counted, never fatal: one broken device
        must not stop the rest of the flat.
        """
        started = self.clock.now() - timedelta(seconds=self.now / self.speed)
        while self._queue and not self._stopped:
            nxt = self._queue[0]
            if until is not None and nxt.at > until:
                break
            await self._sleep_until(started, nxt.at)
            heapq.heappop(self._queue)
            self.now = max(self.now, nxt.at)
            try:
                await nxt.action()
                self.performed += 1
            except Exception:
                self.failed += 1
                log.exception("simulator action %r failed", nxt.name)
        if until is not None and until > self.now and not self._stopped:
            await self._sleep_until(started, until)
            self.now = until

    async def _sleep_until(self, started: datetime, at: float) -> None:
        """Sleep until scenario time ``at``, measured from the clock's start, so slow
        actions do not make the script drift and float rounding never oversleeps."""
        wait = started + timedelta(seconds=at / self.speed) - self.clock.now()
        if wait > timedelta(0):
            self.sleeping = True
            try:
                await self.clock.sleep(wait.total_seconds())
            finally:
                self.sleeping = False

    async def stop(self, task: asyncio.Task[None], timeout: float = 5.0) -> None:
        """Stop ``task`` (running :meth:`run`) between actions, never in the middle of one,
        so every message a simulator counted as published was sent and vice versa."""
        self._stopped = True
        if self.sleeping:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout)
