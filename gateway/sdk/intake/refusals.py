"""Refusals a listener makes, made visible: counted, logged without flooding, sampled.

Every refused connection, dropped datagram and rejected frame is counted on ``/metrics`` by
listener and reason, always. Logging and keeping input is bounded per interval
(``report_interval_s``): the first refusal of each (reason, source) is logged with its detail
and its input kept as a dead letter (at most ``max_samples_per_interval`` per listener), and
everything after that is summed up in one log line when the interval ends. An operator thus
sees that a device sends garbage, and what it sends, without a flood reaching the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from ..adapters import RawFrame
from ..clock import Clock, SystemClock

log = logging.getLogger("gateway.intake")

MAX_TRACKED = 4096
"""(reason, source) pairs remembered per interval; past this, new pairs are only counted."""
MAX_SAMPLE_BYTES = 4096
"""Input kept per sample: enough to see what a device sends, bounded whatever it sends."""


class RefusalSink(Protocol):
    """What the host lends a listener to report refusals (``AdapterHost`` has both)."""

    def listener_refused(self, listener: str, reason: str, count: int = 1) -> None: ...

    async def keep_refused(self, frame: RawFrame, reason: str) -> None: ...


class RefusalLog:
    """Counts, logs and samples the refusals of one listener (e.g. ``dc09-vasteras/udp``)."""

    def __init__(self, listener: str, *, adapter: str, tenant: str, instance: str,
                 transport: str, sink: Any = None, clock: Clock | None = None,
                 interval_s: float = 60.0, max_samples: int = 20) -> None:
        self.listener = listener
        self.adapter, self.tenant, self.instance, self.transport = (
            adapter, tenant, instance, transport)
        self.clock: Clock = clock or SystemClock()
        self.interval_s = interval_s
        self.max_samples = max_samples
        self.counts: Counter[str] = Counter()
        """Refusals by reason since start (also on /metrics when the host counts them)."""
        self._count: Callable[[str, str, int], None] | None = getattr(
            sink, "listener_refused", None)
        self._keep: Callable[[RawFrame, str], Coroutine[Any, Any, None]] | None = getattr(
            sink, "keep_refused", None)
        self._window: datetime | None = None
        self._seen: set[tuple[str, str]] = set()
        self._suppressed: Counter[tuple[str, str]] = Counter()
        self._samples = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def refuse(self, reason: str, source: str, *, detail: str = "",
               sample: bytes | None = None, count: int = 1) -> asyncio.Task[None] | None:
        """Record one refusal; ``sample`` is the input to keep (None: nothing worth keeping).

        Returns the task storing the sample when one is kept: a caller that answers the
        peer (DC-09 DUH) may await it, so the dead letter exists before the answer.
        """
        self.counts[reason] += count
        if self._count is not None:
            self._count(self.listener, reason, count)
        now = self.clock.now()
        if self._window is None or (now - self._window).total_seconds() >= self.interval_s:
            self.flush()
        key = (reason, source)
        if key in self._seen or len(self._seen) >= MAX_TRACKED:
            self._suppressed[(reason, source if key in self._seen else "other sources")] += count
            return None
        self._seen.add(key)
        log.warning("%s refused %s from %s%s%s (further ones from there are summed up "
                    "every %gs)", self.listener, reason, source, f" x{count}" if count > 1 else "",
                    f": {detail}" if detail else "", self.interval_s)
        if sample is not None and self._keep is not None and self._samples < self.max_samples:
            self._samples += 1
            return self._spawn(self._store(reason, source, detail, sample[:MAX_SAMPLE_BYTES],
                                           now))
        return None

    def flush(self) -> None:
        """Log what was suppressed in the interval now ending, and start a new one."""
        if self._suppressed:
            total = sum(self._suppressed.values())
            top = ", ".join(f"{reason} from {source} x{n}"
                            for (reason, source), n in self._suppressed.most_common(5))
            more = len(self._suppressed) - 5
            log.warning("%s refused %d more in the last %gs: %s%s", self.listener, total,
                        self.interval_s, top, f" and {more} more kinds" if more > 0 else "")
        self._seen.clear()
        self._suppressed.clear()
        self._samples = 0
        self._window = self.clock.now()

    async def aclose(self) -> None:
        """Say what is still unsaid and let samples in flight land (or give up)."""
        self.flush()
        for task in list(self._tasks):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)

    async def _store(self, reason: str, source: str, detail: str, payload: bytes,
                     when: datetime) -> None:
        assert self._keep is not None
        frame = RawFrame(adapter=self.adapter, tenant=self.tenant, transport=self.transport,
                         address=source, payload=payload, received=when,
                         meta={"listener": self.listener, "refused": reason},
                         instance=self.instance)
        why = f"refused by listener {self.listener}: {reason}" + (f": {detail}" if detail else "")
        try:
            await self._keep(frame, why)
        except Exception as err:  # a sample is a courtesy; losing one must not hurt intake
            log.info("%s could not keep a sample of %s: %s", self.listener, reason, err)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:  # no loop (a synchronous caller in a test): nothing to keep
            coro.close()
            return None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
