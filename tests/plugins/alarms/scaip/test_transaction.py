"""SIP non-INVITE client transaction timers (RFC 3261 §17.1.2), stepped on the fake clock."""

from __future__ import annotations

import asyncio

from gateway import FakeClock
from plugins.alarms.scaip import sip
from plugins.alarms.scaip.transaction import ClientTransaction, Timers

UDP_SCHEDULE = [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
"""Timer E from T1 = 0.5 s doubling to T2 = 4 s, until Timer F = 32 s."""


def _response(status: int) -> sip.SipMessage:
    return sip.SipMessage(status=status, reason=sip.REASONS.get(status, "Trying"))


class Wire:
    """Records when (on the clock) each copy of the request went out."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.start = clock.now()
        self.times: list[float] = []

    def send(self) -> None:
        self.times.append((self.clock.now() - self.start).total_seconds())


async def _step_to(clock: FakeClock, wire: Wire, seconds: float) -> None:
    """Advance to ``seconds`` after the start, waking every timer on the way."""
    await clock.advance(seconds - (clock.now() - wire.start).total_seconds())


async def test_udp_retransmits_on_timer_e_and_gives_up_at_timer_f() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    tx = ClientTransaction(sip.new_branch(), reliable=False, clock=clock)
    run = asyncio.create_task(tx.run(wire.send))
    await _step_to(clock, wire, 31.9)
    assert wire.times == UDP_SCHEDULE  # not given up after 7.5 s, still sending at 31.5 s
    assert not run.done()
    await _step_to(clock, wire, 32.0)
    assert await asyncio.wait_for(run, 1) is None  # Timer F: no final response in 64*T1
    assert tx.sent == len(UDP_SCHEDULE)


async def test_a_final_response_ends_the_transaction_and_the_retransmissions() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    tx = ClientTransaction(sip.new_branch(), reliable=False, clock=clock)
    run = asyncio.create_task(tx.run(wire.send))
    await _step_to(clock, wire, 2.0)
    tx.receive(_response(200))
    assert (await asyncio.wait_for(run, 1)).status == 200
    await _step_to(clock, wire, 40.0)
    assert wire.times == [0.0, 0.5, 1.5]


async def test_a_provisional_response_moves_retransmissions_to_t2() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    tx = ClientTransaction(sip.new_branch(), reliable=False, clock=clock)
    run = asyncio.create_task(tx.run(wire.send))
    await _step_to(clock, wire, 0.7)  # sent at 0 and 0.5; next due at 1.5
    tx.receive(_response(100))  # Proceeding: after the pending Timer E, every T2
    await _step_to(clock, wire, 10.0)
    assert wire.times == [0.0, 0.5, 1.5, 5.5, 9.5]
    assert not run.done()  # a 1xx is not an answer: still waiting for the final one
    tx.receive(_response(200))
    assert (await asyncio.wait_for(run, 1)).status == 200


async def test_over_tcp_nothing_is_sent_again_but_timer_f_still_applies() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    tx = ClientTransaction(sip.new_branch(), reliable=True, clock=clock)
    run = asyncio.create_task(tx.run(wire.send))
    await _step_to(clock, wire, 31.9)
    assert wire.times == [0.0] and not run.done()
    await _step_to(clock, wire, 32.0)
    assert await asyncio.wait_for(run, 1) is None


async def test_timers_follow_t1_and_t2() -> None:
    clock = FakeClock()
    wire = Wire(clock)
    timers = Timers(t1=1.0, t2=2.0)
    assert timers.timer_f == 64.0
    tx = ClientTransaction(sip.new_branch(), reliable=False, clock=clock, timers=timers)
    run = asyncio.create_task(tx.run(wire.send))
    await _step_to(clock, wire, 7.0)
    assert wire.times == [0.0, 1.0, 3.0, 5.0, 7.0]
    run.cancel()
