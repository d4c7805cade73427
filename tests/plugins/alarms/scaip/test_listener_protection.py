"""The SCAIP SIP listener under attack: idle connections, garbage, floods.

Attackers come from 127.0.0.2, the genuine unit from 127.0.0.1. A connection (or UDP
source) is proven once a request on it authenticated; until then it is limited per source
address and must authenticate within ``first_frame_timeout_s``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from simulators.scaip import ScaipUnit

from .conftest import UNITS

ATTACKER = "127.0.0.2"
Start = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Start]:
    running: list[Gateway] = []

    async def make(**extra: Any) -> Gateway:
        settings = Settings(
            data_dir=tmp_path / f"gw{len(running)}", mqtt={"mode": "memory"},
            adapters=[{"adapter": "scaip", "tenant": "vasteras", "settings": {
                "host": "127.0.0.1", "port": 0, "units": UNITS, **extra}}],
            heartbeats={"store": True})  # a test counts the heartbeats stored
        gw = Gateway(settings, clock=clock)
        await gw.start()
        running.append(gw)
        return gw

    yield make
    for gw in running:
        await gw.stop()


def port(gw: Gateway, transport: str) -> int:
    return int(gw.adapter_instances["scaip-vasteras"].ports[transport])


def refused(gw: Gateway, transport: str, reason: str) -> float:
    """``navet_listener_refused_total`` of this receiver's listener, as /metrics shows it."""
    value = gw.metrics.registry.get_sample_value(
        "navet_listener_refused_total",
        {"listener": f"scaip-vasteras/{transport}", "reason": reason})
    return value or 0.0


async def samples(gw: Gateway, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The dead letters, once ``count`` are there (real time, bounded: kept in background)."""
    await wait_until(lambda: len(gw.store.dead_letters("vasteras")) >= count,
                     f"{count} samples kept", timeout=timeout)
    return gw.store.dead_letters("vasteras")


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 10.0) -> bytes:
    """Everything the server sent until it closed the connection (within ``timeout``)."""
    data = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(4096), timeout):
            data += chunk
    except ConnectionError:
        pass
    return data


def register(unit: str = "unit7", call_id: str = "c1") -> bytes:
    return (f"REGISTER sip:navet.local SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP {ATTACKER}:5060;branch=z9hG4bK{call_id}\r\n"
            f"From: <sip:{unit}@navet.local>;tag=t1\r\nTo: <sip:{unit}@navet.local>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n").encode()


async def test_idle_tcp_connections_from_one_address_do_not_keep_a_unit_out(
    start: Start, clock: FakeClock
) -> None:
    gw = await start(max_connections=16)
    flood = [await asyncio.open_connection("127.0.0.1", port(gw, "tcp"),
                                           local_addr=(ATTACKER, 0)) for _ in range(40)]
    for _, writer in flood:
        writer.write(b"REG")
    unit = ScaipUnit("unit9", "s3cret", ("127.0.0.1", port(gw, "tcp")), clock=clock,
                     transport="tcp")
    await unit.start()
    try:
        assert await unit.register() == 200
        assert (await unit.heartbeat()).snu == 0
    finally:
        await unit.stop()
        for _, writer in flood:
            writer.close()
    assert [e.event.type for e in gw.store.query_events("vasteras")] == ["device.heartbeat"]
    assert refused(gw, "tcp", "evicted_listener_full") + \
        refused(gw, "tcp", "evicted_source_limit") >= 24


async def test_a_connection_that_never_authenticates_is_closed_at_the_deadline(
    start: Start, clock: FakeClock
) -> None:
    gw = await start(listener={"first_frame_timeout_s": 0.5})
    unit = ScaipUnit("unit9", "s3cret", ("127.0.0.1", port(gw, "tcp")), clock=clock,
                     transport="tcp")
    await unit.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port(gw, "tcp"),
                                                       local_addr=(ATTACKER, 0))
        writer.write(register())  # answered 401, and never followed by credentials
        assert await unit.register() == 200
        answered = await closed_by_server(reader)  # at 0.5 s; the idle timeout is 3600 s
        writer.close()
        assert answered.startswith(b"SIP/2.0 401")
        # the unit's connection, open as long, authenticated and is still served
        assert (await unit.heartbeat()).snu == 0
    finally:
        await unit.stop()
    assert refused(gw, "tcp", "first_frame_timeout") == 1


async def test_sip_without_content_length_over_tcp_is_counted_and_sampled(
    start: Start,
) -> None:
    gw = await start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port(gw, "tcp"),
                                                   local_addr=(ATTACKER, 0))
    writer.write(register().replace(b"Content-Length: 0\r\n", b""))
    await closed_by_server(reader)  # the stream cannot be framed: closed
    writer.close()
    [sample] = await samples(gw, 1)
    assert refused(gw, "tcp", "no_content_length") == 1
    assert sample["transport"] == "sip-tcp" and sample["address"] == ATTACKER
    assert "no_content_length: Content-Length is mandatory over TCP" in sample["reason"]
    assert sample["payload"].startswith("REGISTER sip:navet.local")


async def test_non_utf8_sip_over_udp_gets_400_and_is_counted_and_sampled_once(
    start: Start,
) -> None:
    gw = await start()
    bad = register().replace(b"From: <sip:unit7", b"From: \xff\xfe<sip:unit7")
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Inbox(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            answers.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Inbox, local_addr=(ATTACKER, 0))
    try:
        for _ in range(5):
            transport.sendto(bad, ("127.0.0.1", port(gw, "udp")))
            assert (await asyncio.wait_for(answers.get(), 5)).startswith(
                b"SIP/2.0 400 Bad Request")
    finally:
        transport.close()
    [sample] = await samples(gw, 1)
    assert refused(gw, "udp", "not_utf8") == 5
    assert sample["transport"] == "sip-udp" and "not_utf8" in sample["reason"]


async def test_a_udp_flood_does_not_push_a_units_requests_out(
    start: Start, clock: FakeClock
) -> None:
    gw = await start()
    target = ("127.0.0.1", port(gw, "udp"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ATTACKER, 0))
    sock.setblocking(False)
    junk = [register("nobody", f"f{n}") for n in range(50)]  # each answered 404 if handled
    sent = 0
    flooding = True

    async def flood() -> None:
        nonlocal sent
        while flooding and sent < 200_000:
            for datagram in junk:
                sock.sendto(datagram, target)
                sent += 1
            await asyncio.sleep(0)

    attack = asyncio.create_task(flood())
    unit = ScaipUnit("unit9", "s3cret", target, clock=clock)
    await unit.start()
    try:
        assert await unit.register() == 200
        beats = [(await unit.heartbeat()).snu for _ in range(5)]
    finally:
        flooding = False
        await attack
        await unit.stop()
        sock.close()
    print(f"heartbeats answered {beats.count(0)} of 5 during a flood of {sent} datagrams; "
          f"dropped from the flooder's queue {refused(gw, 'udp', 'udp_source_queue_full'):.0f}")
    assert beats == [0] * 5
    assert len([e for e in gw.store.query_events("vasteras")
                if e.event.type == "device.heartbeat"]) == 5
