"""Runs the rules over stored events, in storage order, exactly once each, inside the
transaction that stores them.

The runner is the store's :attr:`~gateway.core.store.Store.rules_hook`: each append
job on the writer's thread stores its events, hands them to :meth:`RulesRunner.derive`,
stores what the rules derive and hands that over too, until nothing new comes. The
event and everything derived from it commit together, once: there is no moment and no
crash in which an event is stored and not ruled, and nothing is read back. A rule's timer
(``run``) decides what is due inside a write job as well (:meth:`RulesRunner.tick`), so
rule state is only ever touched on the writer's thread, under one lock.

Rule state is a cache of what is committed. When a job or a batch that moved it is
rolled back (a store outage; one job of an optimistic PostgreSQL batch failing), the
store calls :meth:`RulesRunner.rolled_back`, and before the next job uses them the
rules are reset and load their state again from what that job's connection sees (the
committed store, and what earlier jobs of its batch wrote). A rule that keeps state has
``load(ctx)`` (read its state from the store; called before the job writes anything)
and ``reset()`` (forget it).

Events stored while no rules ran (``ruled = 0``: by tools, between a stop and the next
start, or by a Navet that still ruled in a second transaction) are ruled at start and
by :meth:`RulesRunner.drain`, oldest first (:meth:`Store.rule_backlog
<gateway.core.store.Store.rule_backlog>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gateway.errors import StoreUnavailableError

from ..clock import Clock
from ..directory import DeviceDirectory
from ..model import EventBase
from ..notifier import Notifier
from ..store import DbConnection, Store, StoredEvent
from ..store.repos.events import alarm_events_after

log = logging.getLogger(__name__)

T = TypeVar("T")
Due = Callable[[datetime], tuple[list[EventBase], T]]
"""A timer's decision at a moment: the events due then, and a value of its own (when it
wants to look again)."""


@dataclass
class RuleContext:
    clock: Clock
    store: Store
    directory: DeviceDirectory
    emit: Callable[[Sequence[EventBase]], Any]
    settings: dict[str, Any] = field(default_factory=dict)
    timer: Callable[[Due[Any]], Awaitable[Any]] | None = None
    """Runs a timer's decision where the rules run (the runner's :meth:`RulesRunner.tick`);
    None (a rule tested alone): :meth:`tick` decides here and stores through ``emit``."""

    async def tick(self, due: Due[T]) -> T:
        """Decide what is due now and store it, ruled like any event; returns ``due``'s
        own value."""
        if self.timer is not None:
            found: T = await self.timer(due)
            return found
        events, value = due(self.clock.now())
        if events:
            await self.emit(events)
        return value


class Rule(Protocol):
    name: str

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]: ...


class RulesRunner:
    """The rules inside the store's writer (:class:`gateway.core.store.records.RulesHook`)."""

    catch_up_limit = 500
    """Events of the backlog ruled per transaction."""

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
        self.processed = 0
        self.resets = 0
        """How often rule state was reloaded after a rollback."""
        self._lock = threading.RLock()  # rule state: the writer's thread, and tests' direct calls
        self._stale = False  # a rollback undid what the rules saw: reset before next use
        self._loaded = False  # every rule's load() ran since the last reset
        self._failed_loads: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.timers_lease: Callable[[], Awaitable[bool]] | None = None
        """Scale-out: rule timers (``run``) run only while this says this instance holds
        their lease (:meth:`_lead_timers`); None: they always run (one process)."""
        self.lease_every_s = 1.0
        self.leading = False
        """Whether this instance's rule timers run now (tests, logs)."""
        self._followed = 0  # leading: the last seq whose alarm events the rules observed
        ctx.timer = self.tick

    # ------------------------------------------------------------------ lifecycle

    def wake(self) -> None:
        """Nothing to wake: committed events were ruled in their own transaction."""

    def rescan(self) -> None:
        """Rule what is stored but not ruled (``ruled = 0``: written by a tool, or by an
        instance that ran without rules), in the background; an instance that died left
        nothing half-ruled, since each event commits with what its rules derive."""
        self._tasks.append(asyncio.create_task(self._catch_up(), name="navet-rules-rescan"))

    async def start(self) -> None:
        self._event_loop = asyncio.get_running_loop()
        self.store.rules_hook = self
        try:
            await self.drain()  # what was stored while no rules ran, before anything new
        except StoreUnavailableError as err:
            log.warning("rules: the backlog waits for the store (%s)", err)
            self._tasks.append(asyncio.create_task(self._catch_up(), name="navet-rules-catch-up"))
        if self.timers_lease is None:
            self._tasks.extend(self._start_timers())
        else:
            self._tasks.append(asyncio.create_task(self._lead_timers(), name="rule-timers-lease"))

    def _start_timers(self) -> list[asyncio.Task[None]]:
        self.leading = True
        return [asyncio.create_task(run(self.ctx), name=f"rule-{rule.name}")
                for rule in self.rules if (run := getattr(rule, "run", None)) is not None]

    async def _lead_timers(self) -> None:
        """Scale-out: run the rule timers while this instance holds their lease, renewed
        every :attr:`lease_every_s`; stop them the moment it is not renewed (another
        instance may take it once it expires). Taking it, the rules reload their state from
        the store first: what the other instances stored since is in it."""
        assert self.timers_lease is not None
        timers: list[asyncio.Task[None]] = []
        try:
            while True:
                try:
                    mine = await self.timers_lease()
                except asyncio.CancelledError:
                    raise
                except Exception as err:
                    log.warning("rule timers: lease not renewed (%s); timers stop", err)
                    mine = False
                if mine and not timers:
                    self._followed = await asyncio.to_thread(self.store.last_seq)
                    self.rolled_back()  # rule state: reload what every instance committed
                    timers = self._start_timers()
                    log.info("rule timers run on this instance")
                if mine:
                    try:
                        while await self.tick(lambda _now: ([], self._observe_others())):
                            pass
                    except asyncio.CancelledError:
                        raise
                    except Exception as err:
                        log.warning("rule timers: the others' alarm events not observed yet "
                                    "(%s); trying again", err)
                elif not mine and timers:
                    await _cancel(timers)
                    timers, self.leading = [], False
                    log.info("rule timers stopped: another instance holds their lease")
                await asyncio.sleep(self.lease_every_s)
        finally:
            await _cancel(timers)
            self.leading = False

    async def stop(self) -> None:
        if self.store.rules_hook is self:
            self.store.rules_hook = None  # from now on events wait for drain() or a start
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def drain(self) -> None:
        """Return once everything committed so far has been ruled (and its ``after`` run):
        rules the backlog, if any; a write, so every append before it has committed."""
        if self._event_loop is None:
            self._event_loop = asyncio.get_running_loop()
        while await self.store.rule_backlog(self, self.catch_up_limit):
            pass

    async def _catch_up(self) -> None:
        while True:
            try:
                await self.drain()
                return
            except StoreUnavailableError:
                await asyncio.sleep(1)

    async def tick(self, due: Due[T]) -> T:
        """Run a rule timer's decision on the writer's thread, at the clock's now, inside
        a write job: what it decides is stored and ruled in that job's transaction. It may
        run again after a rollback, with the state reloaded, at the same moment."""
        now = self.ctx.clock.now()

        def produce() -> tuple[list[EventBase], T]:
            with self._lock:
                events, value = due(now)
            return [e.model_copy(update={"received": now}) for e in events], value

        if self.store.rules_hook is not self:  # stopped: decide here, store for the backlog
            events, value = produce()
            if events:
                await self.ctx.emit(events)
            return value
        written = await self.store.append_from(produce)
        return written.value

    def _observe_others(self) -> bool:
        """Leading: the alarm events committed since the last look (by the other instances;
        this one's own were ruled as they were stored) to every rule's ``observe`` (state
        only, nothing derived: their instance ruled them), on the writer's thread.
        Observing is idempotent. Whether there may be more."""
        found = self.store.read_sync(
            lambda conn: alarm_events_after(conn, self._followed, self.catch_up_limit))
        for item in found:
            for rule in self.rules:
                observe = getattr(rule, "observe", None)
                if observe is not None:
                    try:
                        observe(item.event, self.ctx)
                    except Exception as err:
                        if self.store.is_fatal(err):
                            raise
                        log.exception("rule %s failed to observe event %s", rule.name,
                                      item.event.id)
            self._followed = item.seq
        return len(found) >= self.catch_up_limit

    # ------------------------------------------------------------------ the store's hook

    def prepare(self, conn: DbConnection) -> None:
        """Before a job writes: reset after a rollback, and let every rule load its state
        from what ``conn`` sees (so what the job stores next is not in it twice)."""
        with self._lock:
            if self._stale:
                self._reset()
            if self._loaded:
                return
            for rule in self.rules:
                load = getattr(rule, "load", None)
                if load is not None:
                    self._load(conn, rule, load)
            self._loaded = True

    def _load(self, conn: DbConnection, rule: Rule, load: Callable[[RuleContext], None]) -> None:
        try:
            with self.store.savepoint(conn):  # a rule that cannot load must not sink the job
                load(self.ctx)
        except Exception as err:
            if self.store.is_fatal(err):
                self._stale = True
                raise
            if rule.name not in self._failed_loads:
                self._failed_loads.add(rule.name)
                log.exception("rule %s could not load its state; it loads on its next event",
                              rule.name)

    def derive(self, stored: Sequence[StoredEvent]) -> list[EventBase]:
        """Every rule over each event just stored, in seq order; what they derive, stamped
        with the moment it was derived."""
        derived: list[EventBase] = []
        with self._lock:
            for item in stored:
                for rule in self.rules:
                    try:
                        derived.extend(rule.on_event(item.event, self.ctx))
                    except Exception as err:
                        if self.store.is_fatal(err):
                            raise
                        log.exception("rule %s failed on event %s", rule.name, item.event.id)
        if not derived:
            return []
        now = self.ctx.clock.now()
        return [d.model_copy(update={"received": now}) for d in derived]

    def rolled_back(self) -> None:
        """The store rolled back a job or batch that moved rule state."""
        self._stale = True

    def _reset(self) -> None:
        for rule in self.rules:
            reset = getattr(rule, "reset", None)
            if reset is not None:
                reset()
        self._stale, self._loaded = False, False
        self._failed_loads.clear()
        self.resets += 1
        log.info("rules: state reloaded from the store after a rollback")

    def committed(self, ruled: Sequence[StoredEvent], stored: Sequence[StoredEvent]) -> None:
        """On the writer's thread after COMMIT: plugins' ``after`` and the notifier, on the
        event loop, before the writer answers the job (so ``append`` returning means they
        have run)."""
        self.processed += len(ruled)
        loop = self._event_loop
        if loop is None:
            self._deliver(ruled, stored)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            loop.call_soon_threadsafe(self._deliver, list(ruled), list(stored))

    def _deliver(self, ruled: Sequence[StoredEvent], stored: Sequence[StoredEvent]) -> None:
        for item in ruled:
            self.after(item.event)
        if stored:
            self.notifier.advance(max(s.seq for s in stored))


async def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
