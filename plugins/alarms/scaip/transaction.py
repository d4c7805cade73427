"""SIP non-INVITE client transactions (RFC 3261 §17.1.2), timed on the injected clock.

Every request Navet sends itself is one such transaction: the ``<mrs>``
MESSAGE to a unit, and the forwarding sink's REGISTER and MESSAGE to an
upstream alarm centre. The rules, in the state names of RFC 3261 Figure 6:

- **Trying.** The request goes out. Over UDP it is sent again each time
  Timer E fires: after T1 (500 ms), then twice as long each time, never more
  than T2 (4 s): at 0, 0.5, 1.5, 3.5, 7.5, 11.5 ... s.
- **Proceeding.** A provisional response (1xx) arrived: the peer has the
  request. Over UDP it is still sent every T2 (the 1xx may be all that got
  through), until the final response.
- **Completed.** A final response (>= 200) ends the transaction.
- **Timer F** (64*T1 = 32 s, from the first send) ends it without one: the
  peer is gone. The caller decides what that means (log it, raise a
  ``TransportError`` so the outbox tries again ...).

Over TCP and TLS the transport is reliable: nothing is sent again (Timer E
does not run), but Timer F still bounds the wait.

The timers run on a :class:`gateway.Clock`, so tests step through them with
``FakeClock``; socket I/O (connecting, reading) keeps its own real-time
timeouts elsewhere, because a socket does not follow a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway import Clock

from . import sip

T1 = 0.5
"""RTT estimate (RFC 3261 §17.1.1.1): the first retransmission interval, seconds."""

T2 = 4.0
"""The longest retransmission interval of a non-INVITE request, seconds."""


@dataclass(frozen=True)
class Timers:
    """T1 and T2; the RFC defaults unless a test or a slow link needs others."""

    t1: float = T1
    t2: float = T2

    @property
    def timer_f(self) -> float:
        """How long a transaction waits for its final response: 64*T1."""
        return 64 * self.t1


class ClientTransaction:
    """One request out and its final response back, matched by the Via ``branch``.

    Create it (and register it where responses are matched) before the first
    send, so a response that beats :meth:`run` to the loop is not lost.
    """

    def __init__(self, branch: str, *, reliable: bool, clock: Clock,
                 timers: Timers | None = None) -> None:
        self.branch = branch
        self.reliable = reliable
        self.clock = clock
        self.timers = timers or Timers()
        self.sent = 0  # how often the request went out: 1 + retransmissions
        self.proceeding = False
        self._final: asyncio.Future[sip.SipMessage] = \
            asyncio.get_running_loop().create_future()

    @property
    def done(self) -> bool:
        return self._final.done()

    def receive(self, response: sip.SipMessage) -> None:
        """A response to this transaction arrived (its top Via carries our branch)."""
        if response.status < 200:
            self.proceeding = True  # Trying -> Proceeding: retransmit every T2 from now on
        elif not self._final.done():
            self._final.set_result(response)

    async def run(self, send: Callable[[], object]) -> sip.SipMessage | None:
        """Send with ``send()`` (again on each Timer E over UDP); the final response,
        or None when Timer F fired first."""
        timer_f = asyncio.ensure_future(self.clock.sleep(self.timers.timer_f))
        interval = self.timers.t1
        try:
            self._send(send)
            while True:
                timer_e = None if self.reliable else \
                    asyncio.ensure_future(self.clock.sleep(interval))
                waiting: set[asyncio.Future[Any]] = {self._final, timer_f}
                if timer_e is not None:
                    waiting.add(timer_e)
                try:
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if timer_e is not None:
                        timer_e.cancel()
                if self._final.done():
                    return self._final.result()
                if timer_f.done():
                    return None
                self._send(send)
                interval = self.timers.t2 if self.proceeding else \
                    min(2 * interval, self.timers.t2)
        finally:
            timer_f.cancel()

    def _send(self, send: Callable[[], object]) -> None:
        send()
        self.sent += 1
