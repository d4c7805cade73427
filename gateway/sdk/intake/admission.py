"""Who may hold one of a listener's connections, and who must make room.

A connection is *unproven* until the protocol says it carries a genuine device (DC-09: a
valid frame from a configured account; SCAIP: an authenticated request), then *proven*.
Only unproven connections are limited per source address and only they are ever closed to
make room, so:

- one source address holds at most ``max_unproven_per_source`` unproven connections; a new
  one past that closes the same address's oldest unproven connection (a flooder only
  recycles its own slots, and a dialler behind the same carrier NAT still gets in);
- when the listener is full, a newcomer closes the oldest unproven connection of the address
  holding the most; only when every slot is proven is the newcomer refused;
- an unproven connection lives at most ``first_frame_timeout_s`` (the protocol loop asks
  :meth:`Connection.timeout`), a proven one until its idle timeout.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any


class Connection:
    """One admitted connection: where it really comes from, and whether it proved itself."""

    def __init__(self, admission: Admission, source: tuple[str, int], peer: tuple[str, int],
                 abort: Callable[[], None], *, prefix: bytes = b"", deadline: float,
                 transport: Any = None) -> None:
        self.admission = admission
        self.source = source
        """The client's address: the socket's peer, or the PROXY header's source."""
        self.peer = peer
        """The socket's peer (the load balancer when PROXY protocol is in use)."""
        self.prefix = prefix
        """Bytes read while looking for a PROXY header: the start of the protocol stream."""
        self.deadline = deadline
        """Loop time by which an unproven connection must have proved itself."""
        self.proven = False
        self.closed_because: str | None = None
        self._abort = abort
        self._seq = next(_order)

    @property
    def host(self) -> str:
        return self.source[0]

    def prove(self) -> None:
        """The protocol saw a genuine device on this connection: no deadline, no eviction."""
        if not self.proven:
            self.admission._prove(self)

    def timeout(self, idle_s: float) -> float:
        """Seconds the next read may wait: the idle timeout, or what is left to prove itself."""
        if self.proven:
            return idle_s
        left = self.deadline - asyncio.get_running_loop().time()
        return max(0.0, min(idle_s, left))

    async def read(self, reader: asyncio.StreamReader, n: int, idle_s: float) -> bytes:
        """``reader.read(n)`` within the idle timeout, or the first-frame deadline while
        unproven. A connection proven while the read waits (its request is handled in the
        background) gets the idle timeout from then on, not the deadline it started with.

        :raises TimeoutError: nothing came in time.
        """
        loop = asyncio.get_running_loop()
        idle_until = loop.time() + idle_s
        pending = asyncio.ensure_future(reader.read(n))
        try:
            while True:
                until = idle_until if self.proven else min(idle_until, self.deadline)
                wait = until - loop.time()
                if wait <= 0:
                    raise TimeoutError
                done, _ = await asyncio.wait({pending}, timeout=wait)
                if done:
                    return pending.result()
        finally:
            if not pending.done():
                pending.cancel()  # a StreamReader read gives nothing up when cancelled

    def overdue(self) -> bool:
        """An unproven connection past its deadline (the read timed out because of it)."""
        return not self.proven and asyncio.get_running_loop().time() >= self.deadline

    def release(self) -> None:
        """The connection is closed; give its slot back (idempotent)."""
        self.admission._release(self)

    def _evict(self, reason: str) -> None:
        self.closed_because = reason
        self._abort()


_order = itertools.count()


class Admission:
    def __init__(self, max_connections: int, max_unproven_per_source: int,
                 on_evict: Callable[[Connection, str], None] = lambda c, r: None) -> None:
        self.max_connections = max_connections
        self.max_unproven_per_source = max_unproven_per_source
        self.on_evict = on_evict
        self._unproven: dict[str, dict[int, Connection]] = {}  # by source; insertion = age
        self._proven: set[int] = set()

    @property
    def open(self) -> int:
        return len(self._proven) + sum(len(c) for c in self._unproven.values())

    @property
    def unproven(self) -> int:
        return sum(len(c) for c in self._unproven.values())

    def admit(self, conn: Connection) -> str | None:
        """Take ``conn`` in (None), making room if it may, or say why not."""
        mine = self._unproven.get(conn.host)
        if mine is not None and len(mine) >= self.max_unproven_per_source:
            self._evict(next(iter(mine.values())), "evicted_source_limit")
        if self.open >= self.max_connections:
            if not self._unproven:
                return "listener_full"
            fullest = max(self._unproven.values(), key=len)
            self._evict(next(iter(fullest.values())), "evicted_listener_full")
        self._unproven.setdefault(conn.host, {})[conn._seq] = conn
        return None

    def _evict(self, victim: Connection, reason: str) -> None:
        self._release(victim)
        victim._evict(reason)
        self.on_evict(victim, reason)

    def _prove(self, conn: Connection) -> None:
        mine = self._unproven.get(conn.host)
        if mine is None or mine.pop(conn._seq, None) is None:
            return  # already evicted or released
        if not mine:
            del self._unproven[conn.host]
        conn.proven = True
        self._proven.add(conn._seq)

    def _release(self, conn: Connection) -> None:
        self._proven.discard(conn._seq)
        mine = self._unproven.get(conn.host)
        if mine is not None and mine.pop(conn._seq, None) is not None and not mine:
            del self._unproven[conn.host]
