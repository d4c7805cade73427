"""Runs the rules over stored events, in storage order, exactly once each.

An event is marked ``ruled`` in the same transaction that stores what the
rules derived from it, so after a crash the runner resumes where it stopped
and derives nothing twice (derived ids are deterministic anyway).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..clock import Clock
from ..directory import DeviceDirectory
from ..model import EventBase
from ..notifier import Notifier
from ..store import Store

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
        self._tasks: list[asyncio.Task[None]] = []
        self.processed = 0

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._loop(), name="navet-rules"))
        for rule in self.rules:
            run = getattr(rule, "run", None)
            if run is not None:
                self._tasks.append(asyncio.create_task(run(self.ctx), name=f"rule-{rule.name}"))

    async def stop(self) -> None:
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

    async def _step(self) -> bool:
        """Run the rules over the next chunk of unruled events; one transaction per chunk.

        Events a rule derives from event *n* are stored with the chunk and seen by
        the rules in the next step, after every event of this chunk.
        """
        pending = await self.store.read(lambda conn: self.store.unruled())
        if not pending:
            return False
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
        self.processed += len(pending)
        for stored in pending:
            self.after(stored.event)
        if result.seqs:
            self.notifier.advance(max(result.seqs))
        return True
