"""Delivers the durable outbox to sinks: at least once, in order per resident.

For each subscription a worker takes the oldest pending event of every lane
(a lane is one resident, or one device when no resident is known), delivers
it, and deletes the row. A failure backs that lane off exponentially with
jitter while other lanes go on; after ``horizon`` the row is kept as a dead
delivery instead of being retried for ever.

A sink may set its own policy as attributes (``horizon``, ``base_backoff``,
``max_backoff``, and ``concurrency``: how many lanes it takes at once); its
``TransportError`` may carry ``retry_after`` (never retry sooner) or
``permanent`` (dead at once: the consumer refused the event). The
horizon counts from when the row became due: the event's reception, or the
replay that queued it again.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from gateway.errors import TransportError

from .clock import Clock
from .metrics import Metrics
from .notifier import Notifier
from .routing import Router
from .store import OutboxItem, Store, Subscription

log = logging.getLogger(__name__)


class OutboxDispatcher:
    router: Router | None = None
    """Per-tenant routing (gateway/core/routing.py); the gateway sets it when configured."""
    lease: Callable[[str], Awaitable[bool]] | None = None
    """Scale-out: ``lease("outbox.<subscription>")`` says whether this instance delivers the
    subscription now (gateway/core/cluster.py); None: this one always does."""

    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Any],
        clock: Clock,
        metrics: Metrics,
        notifier: Notifier,
        *,
        base_backoff: float = 1.0,
        max_backoff: float = 300.0,
        horizon: timedelta = timedelta(days=3),
        idle_poll: float = 1.0,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.sinks = sinks  # subscription id -> sink instance
        self.clock = clock
        self.metrics = metrics
        self.notifier = notifier
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self.horizon = horizon
        self.idle_poll = idle_poll
        self.rng = rng or random.Random()  # jitter, not crypto
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        for sub in self.store.subscriptions:
            self.ensure(sub)

    def ensure(self, sub: Subscription) -> None:
        if sub.enabled and sub.id in self.sinks and sub.id not in self._tasks:
            self._tasks[sub.id] = asyncio.create_task(self._run(sub), name=f"outbox-{sub.id}")

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()

    async def _run(self, sub: Subscription) -> None:
        seen = 0
        while True:
            try:
                if self.lease is not None and not await self.lease(f"outbox.{sub.id}"):
                    await asyncio.sleep(self.idle_poll)  # another instance delivers it
                    continue
                delivered = await self.deliver_due(sub)
            except Exception:
                log.exception("outbox worker %s failed; retrying", sub.id)
                delivered = 0
            if delivered == 0:
                await self.notifier.wait_past(seen, timeout=self.idle_poll)
                seen = self.notifier.seq

    async def deliver_due(self, sub: Subscription) -> int:
        """Deliver what is due for one subscription now. Returns how many succeeded."""
        sink = self.sinks[sub.id]
        now = self.clock.now()
        items = await self.store.read(lambda conn: self.store.outbox_due(sub.id, now))
        self.metrics.outbox_depth.labels(sub.id).set(
            (await self.store.read(lambda conn: self.store.outbox_depth())).get(sub.id, 0)
        )
        horizon: timedelta = getattr(sink, "horizon", None) or self.horizon
        base = float(getattr(sink, "base_backoff", None) or self.base_backoff)
        cap = float(getattr(sink, "max_backoff", None) or self.max_backoff)

        async def attempt(item: OutboxItem) -> bool:
            if self.router is not None and await self.router.before(sub, item.seq, item.event):
                return False  # routing gave it to another subscription, or removed it
            try:
                await sink.deliver(item.event)
            except Exception as err:
                if not isinstance(err, TransportError):
                    log.exception("sink %s raised unexpectedly", sub.id)
                self.metrics.delivery_failures.labels(sub.sink).inc()
                if self.router is not None and await self.router.failed(
                        sub, item.seq, item.event, item.attempts, f"{type(err).__name__}: {err}"):
                    return False  # handed over to the route's fallback
                delay = min(cap, base * 2 ** min(item.attempts, 20)) * self.rng.uniform(0.5, 1.0)
                retry_after = getattr(err, "retry_after", None)
                if retry_after is not None:
                    delay = max(delay, float(retry_after))
                age = now - (item.enqueued or item.event.received or item.event.time)
                permanent = bool(getattr(err, "permanent", False))
                dead = permanent or age > horizon
                await self.store.outbox_retry(
                    sub.id, item.seq, f"{type(err).__name__}: {err}",
                    now + timedelta(seconds=delay), dead=dead, at=now,
                )
                if dead:
                    log.error("giving up delivering %s to %s %s", item.event.id, sub.id,
                              "(refused by the consumer)" if permanent else f"after {age}")
                return False
            if self.router is not None:
                self.router.succeeded(sub)
            self.metrics.events_out.labels(sub.sink, item.event.type).inc()
            return True

        # Items are the heads of distinct lanes, so a sink may take several at once
        # (``concurrency``) without breaking the order within any lane.
        limit = max(1, int(getattr(sink, "concurrency", 1) or 1))
        if limit == 1:
            results = [await attempt(item) for item in items]
        else:
            gate = asyncio.Semaphore(limit)

            async def bounded(item: OutboxItem) -> bool:
                async with gate:
                    return await attempt(item)

            results = list(await asyncio.gather(*(bounded(item) for item in items)))
        delivered = [item for item, ok in zip(items, results, strict=True) if ok]
        if delivered:
            await self.store.outbox_done(sub.id, [i.seq for i in delivered], at=now,
                                         last_event=delivered[-1].event.id)
        return len(delivered)
