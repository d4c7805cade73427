"""Where the receiver sends its 200 OK and its ``<mrs>`` MESSAGE, and how long it keeps trying.

A unit behind NAT is played with two of our own UDP sockets: ``public`` is the
address its packets arrive from (the NAT's mapping), ``private`` the address
its Via and Contact name. Which socket gets what is what the SIP rules decide:

- the 200 OK goes by the Via (RFC 3261 §18.2.2): to the sent-by port, or to the
  source port when the unit asked with ``rport`` (RFC 3581);
- the ``<mrs>`` is a new request: to the Contact the unit registered, or the
  Contact of its MESSAGE (TR 91102 §7.5, §7.11);
- a unit configured ``symmetric: true`` gets both at its source address.

The ``<mrs>`` MESSAGE is a non-INVITE client transaction: over UDP it is sent
again on Timer E until Timer F (32 s) ends it, on the fake clock.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until as wait_for
from plugins.alarms.scaip import sip

from .conftest import server
from .test_transaction import UDP_SCHEDULE

UNITS: dict[str, Any] = {
    "nat1": {"registers": False},
    "nat2": {"registers": False, "symmetric": True},
    "reg1": {},
    "reg2": {"symmetric": True},
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        adapters=[{"adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0, "require_auth": False, "units": UNITS}}],
    )


class Socket(asyncio.DatagramProtocol):
    """One UDP socket of the unit; keeps what arrives, answers MESSAGEs 200 when told to."""

    def __init__(self, answer: bool = True) -> None:
        self.answer = answer
        self.got: list[sip.SipMessage] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = sip.parse(data)
        self.got.append(msg)
        if msg.is_request and self.answer:
            assert self.transport is not None
            self.transport.sendto(sip.response(msg, 200, to_tag="u").encode(), addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def responses(self) -> list[sip.SipMessage]:
        return [m for m in self.got if not m.is_request]

    def mrs(self) -> list[sip.SipMessage]:
        return [m for m in self.got if m.method == "MESSAGE"]


@pytest.fixture
async def sockets() -> AsyncIterator[Callable[..., Any]]:
    opened: list[Socket] = []

    async def make(answer: bool = True) -> Socket:
        _, proto = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: Socket(answer), local_addr=("127.0.0.1", 0))
        opened.append(proto)
        return proto

    yield make
    for s in opened:
        if s.transport is not None:
            s.transport.close()


def request(method: str, unit: str, dest: tuple[str, int], *, via_port: int,
            contact_port: int, rport: bool = False, body: bytes = b"") -> bytes:
    """A unit's request as it leaves a NAT: Via and Contact name its private port."""
    lines = [
        f"{method} sip:{'' if method == 'REGISTER' else 'arc@'}{dest[0]}:{dest[1]} SIP/2.0",
        f"Via: SIP/2.0/UDP 127.0.0.1:{via_port};branch=z9hG4bK{secrets.token_hex(6)}"
        + (";rport" if rport else ""),
        f"From: <sip:{unit}@units.example>;tag={secrets.token_hex(4)}",
        f"To: <sip:{unit if method == 'REGISTER' else 'arc'}@units.example>",
        f"Call-ID: {secrets.token_hex(8)}@units.example", f"CSeq: 1 {method}",
        f"Contact: <sip:{unit}@127.0.0.1:{contact_port}>", "Max-Forwards: 70",
    ]
    if body:
        lines.append("Content-Type: application/scaip+xml")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def alarm(ref: str) -> bytes:
    return f"<mrq><ref>{ref}</ref><cid>678</cid><dty>0003</dty><stc>0010</stc></mrq>".encode()


async def test_unit_behind_nat_gets_the_200_at_its_via_port_and_the_mrs_at_its_contact(
    gateway: Gateway, sockets: Callable[..., Any]
) -> None:
    public, private = await sockets(), await sockets()
    dest = server(gateway)
    assert public.transport is not None
    public.transport.sendto(request("MESSAGE", "nat1", dest, via_port=private.port,
                                    contact_port=private.port, body=alarm("61")), dest)
    await wait_for(lambda: len(private.responses()) == 1 and len(private.mrs()) == 1)
    assert private.responses()[0].status == 200
    assert b"<ref>61</ref><snu>4</snu>" in private.mrs()[0].body
    assert private.mrs()[0].uri == f"sip:nat1@127.0.0.1:{private.port}"  # the Contact
    assert public.got == []


async def test_rport_brings_the_200_to_the_source_port_but_the_mrs_still_to_the_contact(
    gateway: Gateway, sockets: Callable[..., Any]
) -> None:
    public, private = await sockets(), await sockets()
    dest = server(gateway)
    assert public.transport is not None
    public.transport.sendto(request("MESSAGE", "nat1", dest, via_port=private.port,
                                    contact_port=private.port, rport=True,
                                    body=alarm("62")), dest)
    await wait_for(lambda: len(public.responses()) == 1 and len(private.mrs()) == 1)
    via = public.responses()[0].get("Via")
    assert f"rport={public.port}" in via and "received=127.0.0.1" in via
    assert private.responses() == [] and public.mrs() == []


async def test_a_symmetric_unit_gets_everything_where_its_packets_come_from(
    gateway: Gateway, sockets: Callable[..., Any]
) -> None:
    public, private = await sockets(), await sockets()
    dest = server(gateway)
    assert public.transport is not None
    public.transport.sendto(request("MESSAGE", "nat2", dest, via_port=private.port,
                                    contact_port=private.port, body=alarm("63")), dest)
    await wait_for(lambda: len(public.responses()) == 1 and len(public.mrs()) == 1)
    assert public.mrs()[0].uri == f"sip:nat2@127.0.0.1:{private.port}"  # still its Contact
    assert private.got == []


async def test_a_registered_unit_gets_its_mrs_at_the_registered_contact(
    gateway: Gateway, sockets: Callable[..., Any]
) -> None:
    public, registered, other = await sockets(), await sockets(), await sockets()
    dest = server(gateway)
    assert public.transport is not None
    public.transport.sendto(request("REGISTER", "reg1", dest, via_port=public.port,
                                    contact_port=registered.port), dest)
    await wait_for(lambda: len(public.responses()) == 1)
    assert public.responses()[0].status == 200
    public.transport.sendto(request("MESSAGE", "reg1", dest, via_port=public.port,
                                    contact_port=other.port, body=alarm("64")), dest)
    await wait_for(lambda: len(registered.mrs()) == 1)
    assert registered.mrs()[0].uri == f"sip:reg1@127.0.0.1:{registered.port}"
    assert other.got == [] and public.mrs() == []


async def test_a_symmetric_unit_whose_nat_mapping_changed_gets_its_mrs_at_the_new_one(
    gateway: Gateway, sockets: Callable[..., Any]
) -> None:
    before, after, private = await sockets(), await sockets(), await sockets()
    dest = server(gateway)
    assert before.transport is not None and after.transport is not None
    before.transport.sendto(request("REGISTER", "reg2", dest, via_port=private.port,
                                    contact_port=private.port), dest)
    await wait_for(lambda: len(before.responses()) == 1)
    after.transport.sendto(request("MESSAGE", "reg2", dest, via_port=private.port,
                                   contact_port=private.port, body=alarm("66")), dest)
    await wait_for(lambda: len(after.responses()) == 1 and len(after.mrs()) == 1)
    assert after.mrs()[0].uri == f"sip:reg2@127.0.0.1:{private.port}"  # the registered Contact
    assert private.got == [] and before.mrs() == []


async def test_an_unanswered_mrs_is_retransmitted_on_timer_e_until_timer_f(
    gateway: Gateway, clock: FakeClock, sockets: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    public, silent = await sockets(), await sockets(answer=False)
    dest = server(gateway)
    assert public.transport is not None
    start = clock.now()
    public.transport.sendto(request("MESSAGE", "nat1", dest, via_port=public.port,
                                    contact_port=silent.port, body=alarm("65")), dest)
    await wait_for(lambda: len(silent.mrs()) == 1)
    for n, at in enumerate(UDP_SCHEDULE[1:], start=2):
        await clock.advance(at - (clock.now() - start).total_seconds())
        await wait_for(lambda n=n: len(silent.mrs()) >= n)  # type: ignore[misc]
    assert len({m.get("Via") for m in silent.mrs()}) == 1  # the same transaction each time
    with caplog.at_level(logging.WARNING, logger="plugins.alarms.scaip.ua"):
        await clock.advance(31.9 - (clock.now() - start).total_seconds())
        assert "did not take the <mrs>" not in caplog.text
        await clock.advance(0.1)  # Timer F: 64*T1 = 32 s after the first send
        await wait_for(lambda: "did not take the <mrs>" in caplog.text)
    assert "no answer within Timer F" in caplog.text
    assert len(silent.mrs()) == len(UDP_SCHEDULE)
