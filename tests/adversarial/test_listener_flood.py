"""Floods against a real ``navet serve``: its DC-09 and SCAIP listeners must still take alarms.

The attacker uses 127.0.0.2 (Linux routes 127.0.0.0/8 to loopback, so it is a second host
as far as Navet can tell), the genuine panel and unit 127.0.0.1. Nothing in-process: the
gateway is a subprocess, the results are read over HTTP (events, dead letters, /metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import SystemClock
from simulators.dc09 import Dc09Transmitter
from simulators.scaip import ScaipUnit
from tests.adversarial.served import ServedGateway, served
from tests.services import free_port

ATTACKER = "127.0.0.2"
IDLE_CONNECTIONS = 300
DIALLER_TIMEOUT_S = 10.0
"""What an ordinary dialler waits for an ACK before it repeats (the simulator's default)."""


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[ServedGateway]:
    """One ``navet serve`` per test, after the store fixture chose this run's database."""
    dc09_port, scaip_port = free_port(), free_port()
    settings = {"adapters": [
        {"adapter": "dc09", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "tcp_port": dc09_port, "udp_port": dc09_port,
            "accounts": [{"account": "1234"}]}},
        {"adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": scaip_port, "transports": ["udp", "tcp"],
            "units": {"unit7": {"password": "s3cret"}}}},
    ]}
    with served(tmp_path / "flood", settings) as gw:
        gw.dc09_port, gw.scaip_port = dc09_port, scaip_port  # type: ignore[attr-defined]
        yield gw


def events(gw: ServedGateway, type_: str) -> list[dict[str, Any]]:
    with gw.client(gw.token("vasteras", "operator", "op-1")) as client:
        r = client.get("/api/v1/events", params={"tenant": "vasteras", "type": type_,
                                                 "limit": 1000})
        r.raise_for_status()
        return list(r.json()["items"])


def refused(gw: ServedGateway, listener: str) -> dict[str, float]:
    """``navet_listener_refused_total`` for one listener, by reason, from /metrics."""
    text = httpx.get(f"{gw.url}/metrics", timeout=10).text
    pattern = (r'navet_listener_refused_total\{listener="' + re.escape(listener) +
               r'",reason="([a-z_0-9]+)"\} ([0-9.e+]+)')
    return {m[1]: float(m[2]) for m in re.finditer(pattern, text)}


async def idle_connections(port: int, count: int, hello: bytes) -> list[asyncio.StreamWriter]:
    """``count`` connections from the attacker's address, each sending a few bytes."""
    writers = []
    for _ in range(count):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port,
                                                      local_addr=(ATTACKER, 0))
        except OSError:  # refused outright: also fine for the attacker's purpose
            continue
        writer.write(hello)
        writers.append(writer)
    return writers


async def test_idle_dc09_connections_do_not_keep_a_genuine_alarm_out(
    gateway: ServedGateway,
) -> None:
    port = gateway.dc09_port  # type: ignore[attr-defined]
    flood = await idle_connections(port, IDLE_CONNECTIONS, b"\n00")
    try:
        async with Dc09Transmitter("127.0.0.1", port, account="1234", clock=SystemClock(),
                                   ack_timeout=DIALLER_TIMEOUT_S, retries=0) as panel:
            answer = await panel.send_sia("MA", "1")
    finally:
        for writer in flood:
            writer.close()
    counts = refused(gateway, "dc09-vasteras/tcp")
    print(f"{len(flood)} idle connections from {ATTACKER}: genuine alarm answered "
          f"{answer.kind} on attempt {answer.attempts}; refusals {counts}")
    assert answer.kind == "ACK"
    assert any(e["device"]["id"] == "dc09:1234" for e in events(gateway, "alarm.raised"))
    assert counts.get("evicted_source_limit", 0) >= IDLE_CONNECTIONS - 16


def _flood_udp(port: int, datagrams: list[bytes], total: int, stop: threading.Event) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ATTACKER, 0))
    sent = 0
    try:
        while sent < total and not stop.is_set():
            for datagram in datagrams:
                with contextlib.suppress(OSError):
                    sock.sendto(datagram, ("127.0.0.1", port))
                sent += 1
    finally:
        sock.close()
    return sent


async def test_a_bounded_udp_flood_does_not_push_genuine_dc09_alarms_out(
    gateway: ServedGateway,
) -> None:
    port = gateway.dc09_port  # type: ignore[attr-defined]
    stranger = Dc09Transmitter("127.0.0.1", port, transport="udp", account="9999",
                               clock=SystemClock())
    junk = [stranger.frame("SIA-DCS", "#9999|NMA1", n) for n in range(1, 100)]
    junk += [b"\n0000000Bgarbage\r", b"\x00" * 40]
    before = len(events(gateway, "alarm.raised"))
    stop = threading.Event()
    loop = asyncio.get_running_loop()
    flood = loop.run_in_executor(None, _flood_udp, port, junk, 100_000, stop)
    answers = []
    try:
        async with Dc09Transmitter("127.0.0.1", port, transport="udp", account="1234",
                                   clock=SystemClock(), ack_timeout=2.0, retries=3,
                                   retry_delay_s=0) as panel:
            for zone in range(20, 40):
                answers.append(await panel.send_sia("MA", str(zone)))
    finally:
        stop.set()
        sent = await flood
    stored = len(events(gateway, "alarm.raised")) - before
    counts = refused(gateway, "dc09-vasteras/udp")
    taken_first = sum(a.kind == "ACK" and a.attempts == 1 for a in answers)
    print(f"UDP flood of {sent} datagrams from {ATTACKER}: {stored} of {len(answers)} genuine "
          f"alarms stored ({taken_first} on the first attempt); refusals {counts}")
    assert [a.kind for a in answers] == ["ACK"] * len(answers)
    assert stored == len(answers)
    with gateway.client(gateway.token("vasteras", "vendor", "vendor-1")) as client:
        dead = client.get("/api/v1/dead-letters", params={"tenant": "vasteras"}).json()
    samples = [d for d in dead if "dc09-vasteras/udp" in d["reason"]]
    assert 1 <= len(samples) <= 20  # the garbage is visible, and bounded


async def test_idle_scaip_tcp_connections_do_not_keep_a_unit_out(
    gateway: ServedGateway,
) -> None:
    port = gateway.scaip_port  # type: ignore[attr-defined]
    flood = await idle_connections(port, IDLE_CONNECTIONS, b"REGISTER sip:navet SIP/2.0\r\n")
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", port), clock=SystemClock(),
                     transport="tcp", timeout_s=DIALLER_TIMEOUT_S)
    await unit.start()
    try:
        assert await unit.register() == 200
        assert (await unit.heartbeat()).snu == 0
    finally:
        await unit.stop()
        for writer in flood:
            writer.close()
    counts = refused(gateway, "scaip-vasteras/tcp")
    print(f"{len(flood)} idle SIP/TCP connections from {ATTACKER}: unit registered and "
          f"heartbeat answered; refusals {counts}")
    assert counts.get("evicted_source_limit", 0) >= IDLE_CONNECTIONS - 16
