"""The DC-09 listener under attack: idle connections, floods, garbage, PROXY headers.

A genuine alarm must still get its ACK; every refusal is counted, logged within bounds
and sampled into the dead letters. Attackers connect from 127.0.0.2 (Linux routes all of
127.0.0.0/8 to loopback), the genuine panel from 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import generate_latest

from gateway import FakeClock, RawFrame
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from plugins.alarms.dc09 import Dc09Adapter
from simulators.dc09 import Dc09Transmitter

from .conftest import KEY_HEX

ATTACKER = "127.0.0.2"
SIGNATURE_V2 = b"\r\n\r\n\x00\r\nQUIT\n"  # PROXY protocol v2 (HAProxy's specification)
Start = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def start(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Start]:
    """Start a gateway whose DC-09 receiver has these extra settings."""
    running: list[Gateway] = []

    async def make(**extra: Any) -> Gateway:
        settings = Settings(
            data_dir=tmp_path / f"gw{len(running)}", mqtt={"mode": "memory"}, subscriptions=[],
            adapters=[{"adapter": "dc09", "tenant": "vasteras", "settings": {
                "host": "127.0.0.1", "tcp_port": 0, "udp_port": 0, "read_timeout_s": 10,
                "accounts": [{"account": "1234"}, {"account": "5678", "key": KEY_HEX}],
                **extra}}])
        gw = Gateway(settings, clock=clock)
        await gw.start()
        running.append(gw)
        return gw

    yield make
    for gw in running:
        await gw.stop()


def receiver(gw: Gateway) -> Any:
    adapter = gw.adapter_instances["dc09-vasteras"]
    assert isinstance(adapter, Dc09Adapter) and adapter.receiver is not None
    return adapter.receiver


def tcp(gw: Gateway) -> tuple[str, int]:
    addr = receiver(gw).tcp_address
    assert addr is not None
    return addr


def udp(gw: Gateway) -> tuple[str, int]:
    addr = receiver(gw).udp_address
    assert addr is not None
    return addr


def panel(gw: Gateway, clock: FakeClock, transport: str = "tcp", **kw: Any) -> Dc09Transmitter:
    host, port = tcp(gw) if transport == "tcp" else udp(gw)
    kw.setdefault("retries", 0)
    return Dc09Transmitter(host, port, transport=transport, account="1234", clock=clock,
                           ack_timeout=10.0, retry_delay_s=0, **kw)


async def connect(gw: Gateway, source: str = ATTACKER) -> tuple[asyncio.StreamReader,
                                                                  asyncio.StreamWriter]:
    return await asyncio.open_connection(*tcp(gw), local_addr=(source, 0))


async def closed_by_server(reader: asyncio.StreamReader, timeout: float = 10.0) -> bool:
    """True once the server closed the connection (EOF or reset), within ``timeout``."""
    try:
        while await asyncio.wait_for(reader.read(4096), timeout):
            pass
    except ConnectionError:
        pass
    return True


async def closed(readers: list[asyncio.StreamReader], at_least: int,
                 timeout: float = 10.0) -> int:
    """How many of ``readers`` the server closed, waiting until ``at_least`` were."""
    tasks = [asyncio.ensure_future(closed_by_server(r, timeout)) for r in readers]
    count = 0
    try:
        for next_closed in asyncio.as_completed(tasks, timeout=timeout):
            await next_closed
            count += 1
            if count >= at_least:
                break
    finally:
        for task in tasks:
            task.cancel()
    return count


async def exchange(writer: asyncio.StreamWriter, reader: asyncio.StreamReader,
                   frame: bytes) -> bytes:
    writer.write(frame)
    await writer.drain()
    return await asyncio.wait_for(reader.readuntil(b"\r"), 10)


def refused(gw: Gateway, transport: str, reason: str) -> float:
    """``navet_listener_refused_total`` of this receiver's listener, as /metrics shows it."""
    value = gw.metrics.registry.get_sample_value(
        "navet_listener_refused_total",
        {"listener": f"dc09-vasteras/{transport}", "reason": reason})
    return value or 0.0


# --------------------------------------------------------------------------- TCP exhaustion


async def test_idle_connections_from_one_address_do_not_keep_a_genuine_alarm_out(
    start: Start, clock: FakeClock
) -> None:
    gw = await start(max_connections=16)  # the existing global limit, small for the test
    flood = [await connect(gw) for _ in range(40)]
    for _, writer in flood:
        writer.write(b"\n00")  # a few bytes, never a whole frame
    # the server has dealt with all 40 once 24 of them were closed (it holds 16)
    assert await closed(([reader for reader, _ in flood]), at_least=24) >= 24
    async with panel(gw, clock) as tx:
        answer = await tx.send_sia("MA", "1")
    for _, writer in flood:
        writer.close()
    assert answer.kind == "ACK"
    assert [e.event.type for e in gw.store.query_events("vasteras")] == ["alarm.raised"]
    assert refused(gw, "tcp", "evicted_source_limit") + \
        refused(gw, "tcp", "evicted_listener_full") >= 25


async def test_an_unproven_connection_is_closed_at_the_first_frame_deadline_a_proven_one_is_not(
    start: Start, clock: FakeClock
) -> None:
    gw = await start(listener={"first_frame_timeout_s": 0.5})  # read_timeout_s stays 10
    tx = panel(gw, clock)
    reader, writer = await connect(gw, "127.0.0.1")
    idle_reader, idle_writer = await connect(gw)
    idle_writer.write(b"\n00")
    reply = await exchange(writer, reader, tx.frame("SIA-DCS", "#1234|NMA1", tx.next_seq()))
    assert b'"ACK"' in reply
    assert await closed_by_server(idle_reader)  # at 0.5 s, long before the idle timeout
    # the proven connection, opened at the same moment, outlives that deadline
    again = await exchange(writer, reader, tx.frame("SIA-DCS", "#1234|NMA2", tx.next_seq()))
    writer.close()
    idle_writer.close()
    assert b'"ACK"' in again
    assert refused(gw, "tcp", "first_frame_timeout") == 1


async def test_diallers_behind_one_nat_address_are_not_limited_once_proven(
    start: Start, clock: FakeClock
) -> None:
    gw = await start(listener={"max_unproven_per_source": 2})
    tx = panel(gw, clock)
    diallers = []
    for _ in range(5):  # five genuine panels behind the carrier's NAT address
        reader, writer = await connect(gw)
        reply = await exchange(writer, reader, tx.frame("SIA-DCS", "#1234|NMA1",
                                                        tx.next_seq()))
        assert b'"ACK"' in reply
        diallers.append((reader, writer))
    junk = [await connect(gw) for _ in range(5)]  # and a flooder on the same address
    assert await closed_by_server(junk[0][0]) and await closed_by_server(junk[2][0])
    for reader, writer in diallers:  # every dialler keeps its connection
        reply = await exchange(writer, reader, tx.frame("NULL", "", tx.next_seq()))
        assert b'"ACK"' in reply
        writer.close()
    for _, writer in junk:
        writer.close()
    assert refused(gw, "tcp", "evicted_source_limit") == 3


# --------------------------------------------------------------------------- PROXY protocol


def proxy_v2(source: str, port: int) -> bytes:
    body = socket.inet_aton(source) + socket.inet_aton("127.0.0.1") + struct.pack(
        "!HH", port, 12300)
    return SIGNATURE_V2 + b"\x21\x11" + struct.pack("!H", len(body)) + body


async def test_proxy_headers_from_a_trusted_balancer_name_the_client(
    start: Start, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw = await start(listener={"proxy_protocol": {"trusted": ["127.0.0.1/32"]}})
    seen: list[str] = []
    real = gw.ingest

    async def noting(frame: RawFrame) -> Any:
        seen.append(frame.address)
        return await real(frame)

    monkeypatch.setattr(gw, "ingest", noting)
    tx = panel(gw, clock)
    for header in (b"PROXY TCP4 198.51.100.7 127.0.0.1 51234 12300\r\n",
                   proxy_v2("203.0.113.9", 40000), b"PROXY UNKNOWN\r\n"):
        reader, writer = await connect(gw, "127.0.0.1")
        reply = await exchange(writer, reader, header + tx.frame("SIA-DCS", "#1234|NMA1",
                                                                 tx.next_seq()))
        writer.close()
        assert b'"ACK"' in reply
    assert seen[:2] == ["198.51.100.7:51234", "203.0.113.9:40000"]
    assert seen[2].startswith("127.0.0.1:")  # UNKNOWN: the balancer's own connection


async def test_proxy_header_from_an_untrusted_peer_or_none_from_the_balancer_is_refused(
    start: Start, clock: FakeClock
) -> None:
    gw = await start(listener={"proxy_protocol": {"trusted": ["127.0.0.1"]}})
    tx = panel(gw, clock)
    liar_reader, liar = await connect(gw, ATTACKER)
    liar.write(b"PROXY TCP4 10.9.9.9 127.0.0.1 1 2\r\n" + tx.frame("NULL", "", 1))
    assert await closed_by_server(liar_reader)
    bare_reader, bare = await connect(gw, "127.0.0.1")
    bare.write(tx.frame("NULL", "", 2))
    assert await closed_by_server(bare_reader)
    # a direct client without a header is served as before, under its own address
    reader, writer = await connect(gw, ATTACKER)
    reply = await exchange(writer, reader, tx.frame("NULL", "", 3))
    for w in (liar, bare, writer):
        w.close()
    assert b'"ACK"' in reply
    assert (refused(gw, "tcp", "proxy_untrusted"), refused(gw, "tcp", "proxy_missing")) == (1, 1)
    await wait_until(lambda: len(gw.store.dead_letters("vasteras")) == 2)
    [sample] = [d for d in gw.store.dead_letters("vasteras") if "proxy_untrusted" in d["reason"]]
    assert sample["address"] == ATTACKER and sample["payload"].startswith("PROXY TCP4 10.9.9.9")


# --------------------------------------------------------------------------- UDP flood


async def test_a_udp_flood_does_not_push_genuine_alarms_out(
    start: Start, clock: FakeClock
) -> None:
    gw = await start()
    host, port = udp(gw)
    stranger = Dc09Transmitter(host, port, transport="udp", account="9999", clock=clock)
    garbage = [stranger.frame("SIA-DCS", "#9999|NMA1", n) for n in range(1, 50)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ATTACKER, 0))
    sock.setblocking(False)
    sent = 0
    flooding = True

    async def flood() -> None:
        nonlocal sent
        while flooding and sent < 200_000:  # well-formed frames of an unknown account
            for frame in garbage:
                sock.sendto(frame, (host, port))
                sent += 1
            await asyncio.sleep(0)

    attack = asyncio.create_task(flood())
    answers = []
    try:
        async with panel(gw, clock, "udp") as tx:
            for zone in range(1, 6):
                answers.append(await tx.send_sia("MA", str(zone)))
    finally:
        flooding = False
        await attack
        sock.close()
    stored = [e.event for e in gw.store.query_events("vasteras", types=["alarm.raised"])]
    print(f"genuine alarms ACKed {sum(a.kind == 'ACK' for a in answers)} of {len(answers)} "
          f"during a flood of {sent} datagrams; unknown account "
          f"{refused(gw, 'udp', 'unknown_account'):.0f}, dropped from the flooder's queue "
          f"{refused(gw, 'udp', 'udp_source_queue_full'):.0f}")
    assert [a.kind for a in answers] == ["ACK"] * 5
    assert len(stored) == 5
    assert refused(gw, "udp", "unknown_account") > 0
    assert len(gw.store.dead_letters("vasteras")) == 1  # one sample, not one per frame


# --------------------------------------------------------------------------- garbage


async def test_garbage_frames_are_counted_on_metrics_logged_once_and_sampled(
    start: Start, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gw = await start()
    tx = panel(gw, clock)
    good = tx.frame("SIA-DCS", "#1234|NMA1", 1)
    bad_crc = good[:1] + (b"0000" if good[1:5] != b"0000" else b"1111") + good[5:]
    reader, writer = await connect(gw)
    with caplog.at_level("WARNING", "gateway.intake"):
        writer.write(bad_crc * 20 + b"\nnot a frame at all\r")
        reply = await exchange(writer, reader, good)
    writer.close()
    assert b'"ACK"' in reply  # the garbage cost the connection nothing
    await wait_until(lambda: len(gw.store.dead_letters("vasteras")) >= 2)
    samples = gw.store.dead_letters("vasteras")
    assert (refused(gw, "tcp", "bad_crc"), refused(gw, "tcp", "malformed_frame")) == (20, 1)
    warnings = [r.getMessage() for r in caplog.records if r.name == "gateway.intake"]
    assert len(warnings) == 2 and "bad_crc from 127.0.0.2: CRC mismatch" in warnings[0]
    assert sorted(d["reason"].split(":")[1].strip() for d in samples) == [
        "bad_crc", "malformed_frame"]
    assert all(d["address"] == ATTACKER and d["transport"] == "tcp" for d in samples)

    body = generate_latest(gw.metrics.registry).decode()
    assert ('navet_listener_refused_total{listener="dc09-vasteras/tcp",reason="bad_crc"} 20.0'
            in body)


async def test_refusal_counters_are_served_on_metrics(
    tmp_path: Path, clock: FakeClock
) -> None:
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, subscriptions=[],
        adapters=[{"adapter": "dc09", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "udp_port": 0, "accounts": [{"account": "1234"}]}}])
    gw = Gateway(settings, clock=clock)
    app = create_app(gateway=gw)
    async with app.router.lifespan_context(app):
        host, port = udp(gw)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((ATTACKER, 0))
        for _ in range(3):
            sock.sendto(b"\n0000000Bgarbage\r", (host, port))
        sock.close()
        await wait_until(lambda: refused(gw, "udp", "bad_length") == 3)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://navet") as client:
            text = (await client.get("/metrics")).text
    assert ('navet_listener_refused_total{listener="dc09-vasteras/udp",'
            'reason="bad_length"} 3.0') in text
