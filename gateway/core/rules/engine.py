"""Runs the rules over stored events, in storage order, exactly once each.

An event is marked ``ruled`` in the same transaction that stores what the
rules derived from it, so after a crash the runner resumes where it stopped
and derives nothing twice (derived ids are deterministic anyway).

The runner takes committed events from the store's writer as they commit
(:attr:`Store.commit_listeners`, in commit order), so it never reads back and
validates again what was just written. It reads the store (``unruled``) only
when it may have missed something: at start (what a crash left unruled) and
after a step failed (the store was down); once that read comes back empty it
follows the writer again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..clock import Clock
from ..directory import DeviceDirectory
from ..model import EventBase
from ..notifier import Notifier
from ..store import Store, StoredEvent

log = logging.getLogger(__name__)


@dataclass
class RuleContext:
    clock: Clock
    store: Store
    directory: DeviceDirectory
    emit: Callable[[Sequence[EventBase]], Any]
    settings: dict[str, Any] = field(default_factory=dict)


class Rule(Protocol):
    name: str

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]: ...


class RulesRunner:
    def __init__(
        self,
        store: Store,
        rules: Sequence[Rule],
        ctx: RuleContext,
        notifier: Notifier,
        after: Callable[[EventBase], None] = lambda ev: None,
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.ctx = ctx
        self.notifier = notifier
        self.after = after
        self._wake = asyncio.Event()
        self._stepping = asyncio.Lock()  # one step at a time (the loop's, or drain's)
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0
        self._committed: deque[StoredEvent] = deque()  # appended on the writer's thread
        self._scan = True  # read unruled events from the store (at start, after a failure)
        self._last = 0  # the last seq ruled: what is at or below it is not ruled again
        self._event_loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        self._wake.set()

    def rescan(self) -> None:
        """Read the store for unruled events (another instance died before ruling its)."""
        self._scan = True
        self._wake.set()

    def _offer(self, stored: list[StoredEvent]) -> None:
        """From the store's writer thread: events just committed, in commit order."""
        self._committed.extend(stored)
        if self._event_loop is not None:
            self._event_loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        self._scan = True
        self.store.commit_listeners.append(self._offer)
        self._tasks.append(asyncio.create_task(self._loop(), name="navet-rules"))
        for rule in self.rules:
            run = getattr(rule, "run", None)
            if run is not None:
                self._tasks.append(asyncio.create_task(run(self.ctx), name=f"rule-{rule.name}"))

    async def stop(self) -> None:
        if self._offer in self.store.commit_listeners:
            self.store.commit_listeners.remove(self._offer)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()

    async def drain(self) -> None:
        """Process every unruled event now (tests and shutdown)."""
        while await self._step():
            pass

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self._step()
            except Exception:
                log.exception("rules step failed; retrying in 1 s")
                await asyncio.sleep(1)
                continue
            if not busy:
                self._wake.clear()
                try:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def _take(self, limit: int = 500) -> list[StoredEvent]:
        """The next committed events not ruled yet, from memory."""
        out: list[StoredEvent] = []
        while self._committed and len(out) < limit:
            stored = self._committed.popleft()
            if stored.seq > self._last:
                out.append(stored)
        return out

    async def _step(self) -> bool:
        """Run the rules over the next chunk of unruled events; one transaction per chunk.

        Events a rule derives from event *n* are stored with the chunk and seen by
        the rules in the next step, after every event of this chunk. One step at a
        time: :meth:`drain` waits for a step the loop has in flight (its events are
        taken but not yet ruled) instead of finding nothing and returning early.
        """
        async with self._stepping:
            return await self._step_once()

    async def _step_once(self) -> bool:
        pending: list[StoredEvent] = []
        if self._scan:
            pending = await self.store.read(lambda conn: self.store.unruled())
            pending = [p for p in pending if p.seq > self._last]
            if not pending:
                self._scan = False  # all caught up: follow the writer from here
        if not pending and not self._scan:
            pending = self._take()
        if not pending:
            return False
        try:
            await self._rule(pending)
        except BaseException:
            self._scan = True  # what was taken is still unruled in the store: read it there
            raise
        return True

    async def _rule(self, pending: list[StoredEvent]) -> None:
        derived: list[EventBase] = []
        for stored in pending:
            for rule in self.rules:
                try:
                    derived.extend(rule.on_event(stored.event, self.ctx))
                except Exception:
                    log.exception("rule %s failed on event %s", rule.name, stored.event.id)
        now = self.ctx.clock.now()
        derived = [d.model_copy(update={"received": now}) for d in derived]
        result = await self.store.append(derived, ruled_seqs=[p.seq for p in pending])
        self._last = max(self._last, pending[-1].seq)
        self.processed += len(pending)
        for stored in pending:
            self.after(stored.event)
        if result.seqs:
            self.notifier.advance(max(result.seqs))
