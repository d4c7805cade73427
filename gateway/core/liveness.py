"""When each device was last heard, in memory; written to ``devices.last_seen`` in batches.

The heartbeat fast path (issue 15): a social alarm unit says "I am alive"
every few minutes, a regional fleet of a million units several thousand
times a second. None of those heartbeats is news: what matters is when the
device was last heard and whether it falls silent. So :class:`Liveness`
keeps the last-seen time of every device in memory (one float per device),
the pipeline (:mod:`gateway.core.pipeline`) reports every device it hears
here, and :meth:`Liveness.flush` writes what changed to ``devices.last_seen``
once per flush interval, in chunks so an alarm never queues behind it.

A *routine* heartbeat (:meth:`Liveness.routine`) is one that tells nothing
new: the device is known, its heartbeat with the same interval has been
stored since this process started, and it has no silent-unit or link-lost
episode that its return would end. Such a heartbeat is not stored as a frame
and event row (unless ``heartbeats.store`` is set); everything else is
stored as before, so the first heartbeat of a device, a changed interval and
a device coming back keep going through the rules.

What a crash loses is at most one flush interval of last-seen times; the
silent-unit supervision gives every device one heartbeat interval from start
before it counts it silent (:class:`~gateway.core.rules.supervision.SilentUnitRule`),
so a restart never raises a false silent-unit alarm.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .store.repos.config import write_last_seen

log = logging.getLogger(__name__)

NO_INTERVAL = 0
"""The interval of a heartbeat that announces none (a DC-09 link test)."""

Listener = Callable[[str, str, float], None]
"""Told of every routine heartbeat: ``(tenant, device, received as a POSIX timestamp)``."""


class Liveness:
    """Last-seen per device, the heartbeats already stored, and the batched flush."""

    __slots__ = ("_announced", "_attention", "_dirty", "_seen", "chunk", "flushed", "listeners")

    def __init__(self, *, chunk: int = 5000) -> None:
        self._seen: dict[str, float] = {}
        self._dirty: dict[str, float] = {}  # device -> last seen, not yet written
        self._announced: dict[str, int] = {}  # device -> interval of a stored heartbeat
        self._attention: set[str] = set()  # devices whose next event the rules must see
        self.listeners: list[Listener] = []
        self.chunk = chunk
        self.flushed = 0
        """How many last-seen rows the flushes wrote (metrics, tests)."""

    # ------------------------------------------------------------------ hearing

    def seen(self, device: str, at: float) -> None:
        """``device`` was heard at ``at`` (POSIX seconds); only later times move it."""
        if self._seen.get(device, 0.0) < at:
            device = sys.intern(device)  # one string per device, shared by every map
            self._seen[device] = at
            self._dirty[device] = at

    def restore(self, device: str, at: float) -> None:
        """What the store said at start (already written, so not flushed again)."""
        if self._seen.get(device, 0.0) < at:
            self._seen[sys.intern(device)] = at

    def beat(self, tenant: str, device: str, at: float) -> None:
        """A routine heartbeat: last-seen moves, listeners (supervision) hear of it."""
        self.seen(device, at)
        for listener in self.listeners:
            listener(tenant, device, at)

    def stored_heartbeat(self, device: str, interval: int | None) -> None:
        """A heartbeat of ``device`` announcing ``interval`` is stored (durable)."""
        self._announced[sys.intern(device)] = interval or NO_INTERVAL

    def routine(self, device: str, interval: int | None) -> bool:
        """Whether a heartbeat would tell the store nothing new (see the module)."""
        return device not in self._attention and \
            self._announced.get(device) == (interval or NO_INTERVAL)

    def attend(self, device: str, on: bool = True) -> None:
        """Store (``on``) or stop storing every event of ``device``: while it has an
        episode its next sign of life ends (silent, link lost), the rules must see it."""
        if on:
            self._attention.add(sys.intern(device))
        else:
            self._attention.discard(device)

    def last(self, device: str) -> float | None:
        return self._seen.get(device)

    def __len__(self) -> int:
        return len(self._seen)

    # ------------------------------------------------------------------ durability

    def pending(self) -> int:
        """Last-seen times heard but not yet written."""
        return len(self._dirty)

    async def flush(self, store: Any) -> int:
        """Write every changed last-seen to ``devices.last_seen``; return how many.

        One write job per ``chunk`` devices, one after the other, so an alarm
        committed meanwhile waits for one chunk at most. A time is written only
        where it is later than the stored one. A chunk that fails stays pending.
        """
        dirty, self._dirty = self._dirty, {}
        items = list(dirty.items())
        written = 0
        try:
            for start in range(0, len(items), self.chunk):
                part = [(_iso(at), device, _iso(at)) for device, at in
                        items[start:start + self.chunk]]
                await store.write(lambda conn, part=part: write_last_seen(conn, part))
                written += len(part)
        except BaseException:
            for device, at in items[written:]:  # not written: keep them for the next flush
                if self._dirty.get(device, 0.0) < at:
                    self._dirty[device] = at
            raise
        self.flushed += written
        return written


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


async def flush_every(liveness: Liveness, store: Any, clock: Any, seconds: float) -> None:
    """Flush ``liveness`` to ``store`` every ``seconds`` of ``clock`` until cancelled."""
    while True:
        await clock.sleep(seconds)
        try:
            written = await liveness.flush(store)
        except Exception as err:  # the store is down: the times stay pending, try again
            log.warning("last-seen flush failed (%d pending): %s", liveness.pending(), err)
            continue
        if written:
            log.debug("last-seen of %d device(s) written", written)
