"""NULL supervision polls from the simulator, timed by the injected clock."""

from __future__ import annotations

import asyncio

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.testing import wait_until

from .test_receiver import stored, transmitter


async def test_polls_every_interval_become_heartbeats(gateway: Gateway, clock: FakeClock) -> None:
    start = clock.now()
    async with transmitter(gateway, clock, "udp", encrypted=True) as tx:
        task = asyncio.create_task(tx.supervise(interval_s=85, count=3))
        try:
            await wait_until(lambda: len(tx.answers) == 1)
            await clock.advance(84)
            assert len(tx.sent) == 1  # not yet: the interval is 85 s
            await clock.advance(1)
            await wait_until(lambda: len(tx.answers) == 2)
            await clock.advance(85)
            await wait_until(lambda: len(tx.answers) == 3)
            await asyncio.wait_for(task, 5)
        finally:
            task.cancel()
    assert [a.kind for a in tx.answers] == ["ACK"] * 3
    beats = stored(gateway, "device.heartbeat")
    assert len(beats) == 3
    assert [(b.time - beats[0].time).total_seconds() for b in beats] == [0, 85, 170]
    assert beats[0].time == start
    assert {b.device.id for b in beats} == {"dc09:5678"}


async def test_sequence_wraps_from_9999_to_0001(gateway: Gateway, clock: FakeClock) -> None:
    async with transmitter(gateway, clock, "tcp", encrypted=False, first_seq=9998) as tx:
        answers = [await tx.poll() for _ in range(3)]
    assert [(a.kind, a.seq) for a in answers] == [("ACK", 9998), ("ACK", 9999), ("ACK", 1)]
    assert len(stored(gateway, "device.heartbeat")) == 3
