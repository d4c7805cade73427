"""The SCAIP forwarding sink's SIP: one Call-ID per MESSAGE, digest retries, the RFC 3261 timers.

The upstream centre here is one of our own UDP sockets, so the test sees every
request the sink sends, and the clock is the fake one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import FakeClock, OutboundPolicy, TransportError, make_event
from gateway.core.security.outbound.policy import OutboundSettings
from gateway.testing import wait_until as wait_for
from plugins.alarms.scaip import sip
from plugins.alarms.scaip.forwarder import ScaipForwardSink

from .test_transaction import UDP_SCHEDULE


class Centre(asyncio.DatagramProtocol):
    """Challenges a MESSAGE without credentials, else answers 200 and sends <mrs> snu=0."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.requests: list[sip.SipMessage] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = sip.parse(data)
        if not msg.is_request:
            return  # the sink's 200 to our <mrs>
        self.requests.append(msg)
        if self.silent:
            return
        assert self.transport is not None
        if not msg.get("Authorization"):
            challenge = sip.challenge("centre", "nonce-1")
            self.transport.sendto(sip.response(msg, 401, to_tag="c", extra=[
                ("WWW-Authenticate", challenge)]).encode(), addr)
            return
        self.transport.sendto(sip.response(msg, 200, to_tag="c").encode(), addr)
        ref = msg.body.split(b"<ref>")[1].split(b"</ref>")[0].decode()
        mrs = sip.SipMessage(method="MESSAGE", uri="sip:navet@127.0.0.1", headers=[
            ("Via", f"SIP/2.0/UDP 127.0.0.1;branch={sip.new_branch()}"),
            ("From", "<sip:alarm@centre>;tag=m"), ("To", "<sip:navet@centre>"),
            ("Call-ID", f"mrs-{ref}-{len(self.requests)}"), ("CSeq", "1 MESSAGE"),
            ("Content-Type", "application/scaip+xml")],
            body=f"<mrs><ref>{ref}</ref><snu>0</snu></mrs>".encode())
        self.transport.sendto(mrs.encode(), addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


LOOPBACK = OutboundPolicy(OutboundSettings(allow_loopback=True))  # the centre runs here


@pytest.fixture
async def centre(request: pytest.FixtureRequest) -> AsyncIterator[Centre]:
    _, proto = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: Centre(silent=getattr(request, "param", False)), local_addr=("127.0.0.1", 0))
    yield proto
    if proto.transport is not None:
        proto.transport.close()


def _sink(centre: Centre, clock: FakeClock, **more: Any) -> ScaipForwardSink:
    return ScaipForwardSink({"host": "127.0.0.1", "port": centre.port, "user": "navet",
                             "password": "pw", "registers": False, **more},
                            SimpleNamespace(clock=clock, alarms=None, outbound=LOOPBACK))


def _raised(clock: FakeClock, alarm: str) -> Any:
    return make_event("alarm.raised", tenant="vasteras", time=clock.now(),
                      source={"adapter": "scaip", "protocol": "scaip", "ref": alarm},
                      alarm=alarm, data={"kind": "fall"})


async def test_each_message_is_its_own_call_and_a_digest_retry_stays_in_it(
    centre: Centre, clock: FakeClock
) -> None:
    sink = _sink(centre, clock)
    try:
        for alarm in ("scaip:u:1", "scaip:u:2", "scaip:u:3"):
            await asyncio.wait_for(sink.deliver(_raised(clock, alarm)), 10)
    finally:
        await sink.aclose()
    assert sink.taken == ["scaip:u:1", "scaip:u:2", "scaip:u:3"]
    challenged, retried, *later = centre.requests
    # the first is challenged; RFC 3261 §8.1.3.5: the retry is the same call, next CSeq,
    # a new transaction (branch)
    assert not challenged.get("Authorization") and retried.get("Authorization")
    assert retried.get("Call-ID") == challenged.get("Call-ID")
    assert sip.param(retried.get("From"), "tag") == sip.param(challenged.get("From"), "tag")
    assert (challenged.cseq, retried.cseq) == ((1, "MESSAGE"), (2, "MESSAGE"))
    assert sip.param(retried.get("Via"), "branch") != sip.param(challenged.get("Via"), "branch")
    # later alarms carry the credentials at once, each a new call outside any dialog
    assert len(later) == 2 and all(m.get("Authorization") for m in later)
    firsts = [challenged, *later]
    assert [m.cseq for m in later] == [(1, "MESSAGE")] * 2
    assert len({m.get("Call-ID") for m in firsts}) == 3
    assert len({sip.param(m.get("From"), "tag") for m in firsts}) == 3
    assert len({sip.param(m.get("Via"), "branch") for m in centre.requests}) == 4


@pytest.mark.parametrize("centre", [True], indirect=True, ids=["silent"])
async def test_an_unanswered_message_is_retransmitted_until_timer_f_then_the_outbox_retries(
    centre: Centre, clock: FakeClock
) -> None:
    sink = _sink(centre, clock)
    start = clock.now()
    delivery = asyncio.create_task(sink.deliver(_raised(clock, "scaip:u:9")))
    try:
        await wait_for(lambda: len(centre.requests) == 1)
        for n, at in enumerate(UDP_SCHEDULE[1:], start=2):
            await clock.advance(at - (clock.now() - start).total_seconds())
            await wait_for(lambda n=n: len(centre.requests) >= n)  # type: ignore[misc]
        await clock.advance(31.9 - (clock.now() - start).total_seconds())
        assert not delivery.done()  # still within Timer F
        await clock.advance(0.1)
        with pytest.raises(TransportError, match="Timer F") as err:
            await asyncio.wait_for(delivery, 5)
    finally:
        await sink.aclose()
    assert not err.value.permanent  # the outbox keeps the alarm and tries again
    assert len(centre.requests) == len(UDP_SCHEDULE)
    assert len({m.get("Via") for m in centre.requests}) == 1  # one transaction, resent
