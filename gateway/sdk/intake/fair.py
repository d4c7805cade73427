"""Fair intake of datagrams: a queue per source address, served round-robin, bounded.

A UDP listener that handles datagrams in arrival order lets one flooding address push
everyone else's alarms out (or, with a task per datagram, exhaust the process). Here each
source address has its own short queue (``per_source``); workers take one datagram from
each address in turn, so a genuine panel waits behind at most one datagram of each other
address, however many the flooder sent. Addresses that have proven themselves (sent a
valid frame) are served in their own ring, alternating with the others, so a flood of new
addresses delays them no more than a flood of one.

Drops, each reported with the address that lost a datagram:

- ``udp_source_queue_full``: that address already has ``per_source`` waiting;
- ``udp_queue_full``: ``total`` are waiting in all; the oldest datagram of the longest queue
  makes room, unless the newcomer's own queue is that long.

Source addresses of UDP can be forged; fairness holds per *claimed* address. A forger that
claims a genuine panel's address shares that panel's queue and can crowd it; the panel's
retransmission is what recovers its alarm then (see docs/security.md).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    def __init__(self, per_source: int, total: int,
                 on_drop: Callable[[str, str, T], object] = lambda s, r, i: None) -> None:
        self.per_source = per_source
        self.total = total
        self.on_drop = on_drop
        self._queues: dict[str, deque[T]] = {}
        # two rings of addresses with something waiting: proven (0) and the rest (1);
        # a dict keeps insertion order, so popping the first and re-adding rotates the ring
        self._rings: tuple[dict[str, None], dict[str, None]] = ({}, {})
        self._ring_of: dict[str, int] = {}
        self._by_len: dict[int, dict[str, None]] = {}  # queue length -> addresses: the longest
        self._longest = 0
        self._size = 0
        self._turn = 0
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return self._size

    def put(self, source: str, item: T, *, proven: bool = False) -> bool:
        """Queue ``item`` from ``source``; False (and ``on_drop``) when it was dropped."""
        queue = self._queues.get(source)
        have = len(queue) if queue is not None else 0
        if have >= self.per_source:
            self.on_drop(source, "udp_source_queue_full", item)
            return False
        if self._size >= self.total:
            victim = next(iter(self._by_len.get(self._longest, {})), None)
            if victim is None or self._longest <= have + 1:
                self.on_drop(source, "udp_queue_full", item)
                return False
            self.on_drop(victim, "udp_queue_full", self._pop_from(victim))
            queue = self._queues.get(source)
        if queue is None:
            queue = self._queues[source] = deque()
            ring = 0 if proven else 1
            self._rings[ring][source] = None
            self._ring_of[source] = ring
        self._resize(source, len(queue), len(queue) + 1)
        queue.append(item)
        self._size += 1
        self._ready.set()
        return True

    async def get(self) -> tuple[str, T]:
        """The next datagram, round-robin over addresses, alternating proven and the rest."""
        while not self._size:
            self._ready.clear()
            await self._ready.wait()
        first = self._turn
        self._turn ^= 1
        ring = self._rings[first] or self._rings[first ^ 1]
        source = next(iter(ring))
        del ring[source]  # to the back of its ring if it has more
        item = self._pop_from(source, rotate=True)
        return source, item

    def _pop_from(self, source: str, *, rotate: bool = False) -> T:
        queue = self._queues[source]
        self._resize(source, len(queue), len(queue) - 1)
        item = queue.popleft()
        self._size -= 1
        ring = self._rings[self._ring_of[source]]
        if not queue:
            del self._queues[source]
            ring.pop(source, None)
            del self._ring_of[source]
        elif rotate:
            ring[source] = None
        return item

    def _resize(self, source: str, old: int, new: int) -> None:
        if old:
            bucket = self._by_len[old]
            del bucket[source]
            if not bucket:
                del self._by_len[old]
        if new:
            self._by_len.setdefault(new, {})[source] = None
        if new > self._longest:
            self._longest = new
        while self._longest and self._longest not in self._by_len:
            self._longest -= 1
