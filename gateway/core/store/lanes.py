"""The store writer's queue, in two lanes: urgent work (alarms) never waits behind bulk.

Callers hand the writer jobs (:meth:`Store.write`); the writer commits what is waiting
in one transaction. With one queue an alarm that arrives behind a backlog of
heartbeats and positions waits for all of them: for the transactions before it and,
inside its own, for every bulk job's SQL before the COMMIT that makes it durable.

Here a job is *urgent* or *bulk*. The writer's next batch is:

* the urgent jobs alone, when any are waiting: a short transaction, so an alarm is
  durable after its own SQL and one COMMIT, however much bulk is queued;
* otherwise (and always right after an urgent-only batch, if bulk was waiting) the
  urgent jobs first and then bulk jobs in arrival order, up to ``max_batch``.

So bulk still gets into every second batch at least, and an alarm flood cannot
starve heartbeats (which would raise silent-unit alarms of its own). Order within a
lane is arrival order. ``None`` (put by :meth:`Store.close`) goes in the bulk lane
and stops the writer once everything queued before it is written.

The lane only decides order; what is urgent is the caller's call
(:class:`gateway.core.pipeline.Pipeline` asks the rules, and :meth:`Store.append`
treats every ``alarm.*`` event as urgent).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from typing import Generic, TypeVar

J = TypeVar("J")


class WriteLanes(Generic[J]):
    """A two-lane queue for the writer thread; thread-safe, ``put`` never blocks."""

    def __init__(self) -> None:
        self._urgent: deque[J] = deque()
        self._bulk: deque[J | None] = deque()
        self._ready = threading.Condition(threading.Lock())
        self._bulk_owed = False  # the last batch was urgent-only while bulk waited
        self.urgent_batches = 0
        """Batches that held only urgent jobs (each a COMMIT an alarm did not share)."""

    def put(self, job: J | None, urgent: bool = False) -> None:
        with self._ready:
            if urgent and job is not None:
                self._urgent.append(job)
            else:
                self._bulk.append(job)
            self._ready.notify()

    def empty(self) -> bool:
        with self._ready:
            return not self._urgent and not self._bulk

    def qsize(self) -> int:
        with self._ready:
            return len(self._urgent) + len(self._bulk)

    def take(self, max_batch: int, timeout: float | None = None) -> tuple[list[J], bool]:
        """The next batch, waiting for one; and whether the writer should stop after it.

        :raises queue.Empty: nothing came within ``timeout`` seconds.
        """
        with self._ready:
            if not self._ready.wait_for(lambda: self._urgent or self._bulk, timeout):
                raise queue.Empty
            batch: list[J] = []
            while self._urgent and len(batch) < max_batch:
                batch.append(self._urgent.popleft())
            if batch and self._bulk and not self._bulk_owed:
                self._bulk_owed = True  # an alarm goes alone; bulk comes in the next batch
                self.urgent_batches += 1
                return batch, False
            self._bulk_owed = False
            stop = False
            while self._bulk and len(batch) < max_batch:
                job = self._bulk.popleft()
                if job is None:
                    stop = True
                    break
                batch.append(job)
            return batch, stop
