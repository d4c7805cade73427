"""Several Navet instances on one PostgreSQL schema and one MQTT broker (scale-out).

Every instance is the same program with the same configuration; nothing is
shared in memory. What they share, and how:

- **Ingress.** MQTT shared subscriptions (``mqtt.share_group``): the broker hands
  each message to one instance. Each instance has its own client ids
  (``<client_id>.<instance>``) and a persistent session, acknowledged only after
  the store committed.
- **Who runs.** Each instance registers a row in ``instances`` and holds a lock on
  its name for as long as its writer is connected (:mod:`.store.postgres`). When
  it dies the server drops the lock at once; the others look every
  ``watch_s`` seconds and take over what it left (:meth:`Cluster.watch`):
- **Its MQTT sessions.** Mosquitto keeps handing a dead member of a share group its
  turn of the messages (they queue in its session) and keeps what it had in flight.
  The instance that takes over connects with the dead client id, handles what the
  session holds with its own adapters, unsubscribes it (so it leaves the share
  groups), waits until nothing more comes, and erases the session. A graceful stop
  unsubscribes first, so there is little left to take.
- **Work that must not run twice.** Leases (``leases``): a subscription's
  deliveries belong to one instance at a time (order per resident), renewed every
  pass and taken over when they expire or their owner's row is gone; so do the rule
  timers (``rules.timers``, :class:`~gateway.core.rules.RulesRunner`).
- **Streams.** Batches of all instances commit in seq order (the seq lock) and
  notify the others (LISTEN/NOTIFY), so a stream on any instance sees every commit,
  in order, promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from .clock import Clock
from .store import Store
from .store.repos import cluster as sql

log = logging.getLogger(__name__)

Adopt = Callable[[dict[str, Any]], Awaitable[None]]


def _ms(clock: Clock) -> int:
    return int(clock.now().timestamp() * 1000)


class Cluster:
    """This instance among the others on one database.

    :param adopt: called with a dead instance's row (its ``sessions``) while this
        instance holds the dead one's lock; when it returns, the row and the dead
        instance's leases are removed.
    :param on_commit: called (on the event loop) when any instance committed.
    """

    def __init__(self, store: Store, clock: Clock, name: str, *,
                 adopt: Adopt | None = None, on_commit: Callable[[], None] | None = None,
                 watch_s: float = 1.0, lease_s: float = 10.0) -> None:
        self.store = store
        self.clock = clock
        self.name = name
        self.adopt = adopt
        self.on_commit = on_commit
        self.watch_s = watch_s
        self.lease_ms = int(lease_s * 1000)
        self.taken_over: list[str] = []
        """Names of the dead instances this one took over (tests, logs)."""
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self._probe: Any = None  # a connection of its own, for the dead instances' locks
        self._held: set[str] = set()
        self._watching = asyncio.Lock()  # one pass at a time: the probe's locks are re-entrant

    async def start(self) -> None:
        now = _ms(self.clock)
        started = self.clock.now().isoformat()
        await self.store.write(lambda conn: sql.register(
            conn, self.name, socket.gethostname(), os.getpid(), started, now))
        listen = getattr(self.store, "listen", None)
        if listen is not None and self.on_commit is not None:
            loop = asyncio.get_running_loop()
            on_commit = self.on_commit
            self._unlisten = listen(lambda: loop.call_soon_threadsafe(on_commit))
        self._task = asyncio.create_task(self._run(), name="navet-cluster")
        log.info("instance %s registered on %s", self.name, self.store.label)

    async def set_sessions(self, sessions: list[dict[str, Any]]) -> None:
        """The MQTT sessions (``client_id``, ``adapter`` instance or None) this one holds."""
        await self.store.write(lambda conn: sql.set_sessions(conn, self.name, sessions))

    async def stop(self) -> None:
        """Stop watching; let go of this instance's leases (the others take them at once).
        The row stays: another instance erases the MQTT sessions this one leaves."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._unlisten is not None:
            await asyncio.to_thread(self._unlisten)
            self._unlisten = None
        held = list(self._held)

        def release(conn: Any) -> None:
            for lease in held:
                sql.release(conn, lease, self.name)

        with contextlib.suppress(Exception):
            await self.store.write(release)
        self._held.clear()
        if self._probe is not None:
            with contextlib.suppress(Exception):
                self._probe.close()
            self._probe = None

    # ------------------------------------------------------------------ leases

    async def holds(self, lease: str) -> bool:
        """Take or renew ``lease`` for this instance; whether it is this one's now."""
        now = _ms(self.clock)
        mine: bool = await self.store.write(
            lambda conn: sql.claim(conn, lease, self.name, now, self.lease_ms))
        if mine and lease not in self._held:
            log.info("instance %s took %s", self.name, lease)
        if mine:
            self._held.add(lease)
        else:
            self._held.discard(lease)
        return bool(mine)

    # ------------------------------------------------------------------ watching

    async def _run(self) -> None:
        while True:
            try:
                await self.watch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("instance %s: watching the other instances failed", self.name)
            await asyncio.sleep(self.watch_s)

    async def watch(self) -> list[str]:
        """One pass: renew this instance's heartbeat; take over every instance that is
        gone (its name's lock is free). Returns the names taken over."""
        async with self._watching:
            return await self._watch()

    async def _watch(self) -> list[str]:
        now = _ms(self.clock)
        if not await self.store.write(lambda conn: sql.seen(conn, self.name, now)):
            log.error("instance %s: its registration was removed (taken over?); registering "
                      "again", self.name)
            started = self.clock.now().isoformat()
            await self.store.write(lambda conn: sql.register(
                conn, self.name, socket.gethostname(), os.getpid(), started, now))
        rows = await self.store.read(sql.instances)
        gone: list[str] = []
        for row in rows:
            if row["name"] == self.name:
                continue
            if not await self._lock(row["name"]):
                continue  # alive (or another instance is taking it over right now)
            try:
                log.warning("instance %s is gone (pid %s on %s); %s takes over its %d MQTT "
                            "session(s) and its leases", row["name"], row["pid"], row["host"],
                            self.name, len(row["sessions"]))
                if self.adopt is not None:
                    await self.adopt(row)
                await self.store.write(lambda conn, n=row["name"]: sql.forget(conn, n))
                gone.append(row["name"])
                self.taken_over.append(row["name"])
            finally:
                await self._unlock(row["name"])
        return gone

    async def _lock(self, name: str) -> bool:
        lock = getattr(self.store, "instance_lock", None)
        if lock is None:
            return False  # a store without instance locks (SQLite): one process only

        def take() -> bool:
            if self._probe is None or self._probe.broken:
                self._probe = self.store.connect()
            return bool(lock(self._probe, name))

        return await asyncio.to_thread(take)

    async def _unlock(self, name: str) -> None:
        unlock = getattr(self.store, "instance_unlock", None)
        if unlock is None or self._probe is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.to_thread(unlock, self._probe, name)


async def take_over_session(client: Any, *, quiet_s: float = 1.0,
                            max_s: float = 120.0) -> int:
    """Drain a dead instance's MQTT session with ``client`` (its client id, persistent,
    the routes of this instance's matching client already added): connect, handle what
    the session holds, unsubscribe it from its share groups, wait until ``quiet_s``
    passed with nothing in hand, disconnect. Returns how many messages it handled."""
    await client.connect()
    try:
        await client.unsubscribe_all()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        quiet_since = loop.time()
        seen = -1
        while loop.time() < deadline:
            handled = client.received
            if not client.idle or handled != seen:
                quiet_since, seen = loop.time(), handled
            elif loop.time() - quiet_since >= quiet_s:
                break
            await asyncio.sleep(0.05)
    finally:
        await client.disconnect()
    return int(client.received)
