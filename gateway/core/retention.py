"""Retention: each kind of stored row kept for its own period, then pruned in small steps.

Kinds and their settings (``retention:``, docs/operators.md "Retention"):

=============  ====================  =================================================
kind           setting               what goes
=============  ====================  =================================================
dead_letters   dead_letters_days     frames the adapters refused
frames         frames_days           raw frames no dead letter refers to
heartbeats     heartbeats_days       device.heartbeat / online / offline events
events         events_days           every other event
outbox         outbox_days           outbox rows a delivery gave up on
sessions       sessions_days         console sessions, from when they expired
audit          audit_days            audit entries, from a signed anchor (>= 5 years)
=============  ====================  =================================================

0 keeps a kind for ever. Whatever its age, an event waiting for a consumer, every
event of an open alarm and a frame a dead letter refers to stay
(:mod:`gateway.core.store.repos.retention`).

A prune never holds the store's writer for long: every kind goes ``chunk_rows`` rows
per write job, each its own short transaction between the writer's other batches
(an alarm arriving meanwhile waits for one chunk, not for the prune). On PostgreSQL
raw frames are partitioned by month and whole months past the cutoff are dropped
(:mod:`gateway.core.store.partitions`); the months ahead are made at each prune.

The audit log goes only from a signed anchor (:meth:`AuditLog.prune`), so ``navet
audit verify`` still holds after it; every prune that removed something is itself
audited (action ``store.prune``, tenant ``*``: the whole store).

:class:`Pruner` is what ``navet store prune`` and the scheduled prune inside ``navet
serve`` (:meth:`Pruner.every`, on the injected clock) both run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .audit import AuditLog
from .clock import Clock
from .model import Actor, ActorKind
from .settings import RetentionSettings
from .store import DbConnection, Store
from .store import partitions as frame_partitions
from .store.repos import retention as sql

log = logging.getLogger(__name__)

KINDS: tuple[str, ...] = ("dead_letters", "frames", "heartbeats", "events", "outbox",
                          "sessions", "audit")
"""In the order a prune takes them: dead letters before the frames they keep."""

PRUNER = Actor(kind=ActorKind.SYSTEM, id="navet-retention", name="Navet retention")


@dataclass
class KindResult:
    """What went (or, in a dry run, would go) of one kind."""

    kind: str
    days: int
    cutoff: str | None
    rows: int = 0
    partitions: list[str] = field(default_factory=list)
    """PostgreSQL frames: the month partitions dropped whole (their rows are in ``rows``)."""
    chunks: int = 0
    longest_chunk_s: float = 0.0
    """The longest one chunk's write took, queue included (bench/storage_per_device.py)."""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"days": self.days, "cutoff": self.cutoff, "rows": self.rows}
        if self.partitions:
            out["partitions"] = self.partitions
        return out


class Pruner:
    """Deletes what is past its period, a chunk at a time (see the module docstring)."""

    def __init__(self, store: Store, clock: Clock, settings: RetentionSettings,
                 audit: AuditLog | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.audit = audit
        self.runs = 0
        """Prunes finished (the scheduled loop's tests wait on it)."""
        self.last: dict[str, KindResult] = {}

    def days(self, kind: str) -> int:
        return int(getattr(self.settings, f"{kind}_days"))

    def cutoff(self, kind: str, now: datetime) -> str | None:
        days = self.days(kind)
        return None if days <= 0 else (now - timedelta(days=days)).isoformat()

    # ------------------------------------------------------------------ dry run

    async def plan(self) -> dict[str, KindResult]:
        """What a prune now would remove, per kind, removing nothing."""
        now = self.clock.now()

        def read(conn: DbConnection) -> dict[str, KindResult]:
            out: dict[str, KindResult] = {}
            for kind in KINDS:
                cutoff = self.cutoff(kind, now)
                result = out[kind] = KindResult(kind, self.days(kind), cutoff)
                if cutoff is None:
                    continue
                if kind == "frames" and self._partitioned(conn):
                    result.partitions = [n for n, _ in frame_partitions.droppable(conn, cutoff)]
                if kind == "frames":
                    result.rows = sql.count_frames(conn, cutoff, self.cutoff("dead_letters", now))
                else:
                    result.rows = _COUNT[kind](conn, cutoff)
            return out

        return await self.store.read(read)

    # ------------------------------------------------------------------ prune

    async def ensure_partitions(self, now: datetime | None = None) -> bool:
        """PostgreSQL: make this month's frame partition and the next ones (and one for any
        month with rows in the default partition, moved there); returns whether frames are
        partitioned at all. The gateway calls it at start, before any frame is stored:
        moving rows out of the default partition while frames are read can hide a row
        from a query planned before the move and run after it."""
        now = now or self.clock.now()
        if not await self.store.read(self._partitioned):
            return False
        ahead = self.settings.partitions_ahead

        def ensure(conn: DbConnection) -> list[str]:
            self.store.serialise(conn, "retention")
            return frame_partitions.ensure(conn, now, ahead)

        made: list[str] = await self.store.write(ensure)
        if made:
            log.info("retention: made frame partitions %s", ", ".join(made))
        return True

    async def run(self) -> dict[str, KindResult]:
        """Prune every kind now; returns what went."""
        now = self.clock.now()
        results: dict[str, KindResult] = {}
        chunk = self.settings.chunk_rows
        partitioned = await self.ensure_partitions(now)
        for kind in KINDS:
            cutoff = self.cutoff(kind, now)
            result = results[kind] = KindResult(kind, self.days(kind), cutoff)
            if cutoff is None:
                continue
            if kind == "audit":
                await self._prune_audit(result, now, chunk)
                continue
            if kind == "frames" and partitioned:
                await self._drop_partitions(result, cutoff)
            if kind in ("heartbeats", "events"):  # per tenant: its (tenant, received) index
                for tenant in await self.store.read(sql.event_tenants):
                    await self._chunks(result, functools.partial(
                        sql.delete_events, tenant=tenant, cutoff=cutoff, limit=chunk,
                        liveness=kind == "heartbeats"), chunk)
            else:
                await self._chunks(result, functools.partial(
                    _DELETE[kind], cutoff=cutoff, limit=chunk), chunk)
        if results["heartbeats"].rows or results["events"].rows:
            await self.store.write(sql.delete_orphans)
        self.last = results
        self.runs += 1
        if any(r.rows for r in results.values()):
            log.info("retention: pruned %s", {k: r.rows for k, r in results.items() if r.rows})
            if self.audit is not None:
                await self.audit.append(
                    tenant="*", actor=PRUNER, action="store.prune", decision="allowed",
                    reason="retention periods (retention.*_days)",
                    detail={k: r.as_dict() for k, r in results.items() if r.cutoff})
        return results

    async def _chunks(self, result: KindResult, delete: Callable[[DbConnection], int],
                      chunk: int) -> None:
        """Run ``delete`` (at most ``chunk`` rows) as its own write job until less goes."""
        while True:
            started = time.perf_counter()  # a figure for the benchmark, not for any logic
            gone: int = await self.store.write(delete)
            result.longest_chunk_s = max(result.longest_chunk_s, time.perf_counter() - started)
            result.rows += gone
            result.chunks += 1
            if gone < chunk:
                return
            await asyncio.sleep(0)  # let the event loop (and the writer's queue) breathe

    async def _drop_partitions(self, result: KindResult, cutoff: str) -> None:
        def job(conn: DbConnection) -> list[tuple[str, int]]:
            self.store.serialise(conn, "retention")  # instances pruning at once take turns
            found = frame_partitions.droppable(conn, cutoff)
            for name, _ in found:
                frame_partitions.drop(conn, name)
            return found

        dropped: list[tuple[str, int]] = await self.store.write(job)
        for name, rows in dropped:
            result.partitions.append(name)
            result.rows += rows

    async def _prune_audit(self, result: KindResult, now: datetime, chunk: int) -> None:
        if self.audit is None:
            return
        before = now - timedelta(days=result.days)
        while True:
            gone = await self.audit.prune(before, limit=chunk)
            result.rows += gone
            result.chunks += 1
            if gone < chunk:
                return

    def _partitioned(self, conn: DbConnection) -> bool:
        return self.store.kind == "postgresql" and frame_partitions.is_partitioned(conn)

    # ------------------------------------------------------------------ schedule

    async def every(self, interval_s: float) -> None:
        """Prune now and then every ``interval_s`` on the injected clock, for ever (a task
        the gateway cancels at stop). A failed prune is logged and tried again in an hour
        (or the interval, if shorter)."""
        while True:
            try:
                await self.run()
                await self.clock.sleep(interval_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                retry = min(3600.0, interval_s)
                log.exception("retention prune failed; trying again in %g s", retry)
                await self.clock.sleep(retry)


_COUNT: dict[str, Callable[[DbConnection, str], int]] = {
    "dead_letters": sql.count_dead_letters,
    "heartbeats": lambda c, cut: sql.count_events(c, cut, liveness=True),
    "events": lambda c, cut: sql.count_events(c, cut, liveness=False),
    "outbox": sql.count_outbox,
    "sessions": sql.count_sessions,
    "audit": sql.count_audit,
}
_DELETE: dict[str, Callable[..., int]] = {  # (conn, cutoff=, limit=) -> rows gone
    "dead_letters": sql.delete_dead_letters,
    "frames": sql.delete_frames,
    "outbox": sql.delete_outbox,
    "sessions": sql.delete_sessions,
}
