"""Connections through the outbound policy: resolve once, check every address, connect to
a checked address, and say the same thing for every failure to connect."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gateway import OutboundPolicy, OutboundRefused
from gateway.core.security.outbound import DestinationUnreachable, OutboundSettings
from gateway.testing import wait_until
from tests.services import free_port

LOOPBACK = OutboundSettings(allow_loopback=True)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[int, list[tuple[str, int]]]]:
    """A TCP server on 127.0.0.1 that records who connected and answers 'ok'."""
    peers: list[tuple[str, int]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("sockname")[:2])
        writer.write(b"ok\r")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, peers
    finally:
        server.close()
        await server.wait_closed()


def fake_dns(monkeypatch: pytest.MonkeyPatch, name: str,
             answers: list[list[str]]) -> list[str]:
    """Make ``name`` resolve to ``answers[0]``, then ``answers[1]`` ...: a DNS server that
    changes its answer between two lookups (rebinding). Returns the log of lookups."""
    loop = asyncio.get_running_loop()
    real: Callable[..., Any] = loop.getaddrinfo
    lookups: list[str] = []

    async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return await real(host, port, *args, **kwargs)
        answer = answers[min(len(lookups), len(answers) - 1)]
        lookups.append(name)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, int(port or 0))) for a in answer]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return lookups


async def test_the_connection_goes_to_the_address_that_was_checked(
        monkeypatch: pytest.MonkeyPatch, echo: tuple[int, list[tuple[str, int]]]) -> None:
    port, peers = echo
    lookups = fake_dns(monkeypatch, "rebind.example",
                       [["127.0.0.1"], ["169.254.169.254"]])  # the second answer is the attack
    policy = OutboundPolicy(LOOPBACK)
    reader, writer = await policy.open_connection("rebind.example", port, timeout=5)
    assert await reader.readuntil(b"\r") == b"ok\r"
    writer.close()
    assert lookups == ["rebind.example"]  # resolved once: no second answer to be fooled by
    assert peers == [("127.0.0.1", port)]


async def test_a_name_with_one_refused_address_among_good_ones_is_refused(
        monkeypatch: pytest.MonkeyPatch, echo: tuple[int, list[tuple[str, int]]]) -> None:
    port, peers = echo
    fake_dns(monkeypatch, "mixed.example", [["127.0.0.1", "169.254.169.254"]])
    with pytest.raises(OutboundRefused, match=r"resolves to 169\.254\.169\.254.*metadata"):
        await OutboundPolicy(LOOPBACK).open_connection("mixed.example", port, timeout=5)
    assert peers == []


async def test_a_name_resolving_to_loopback_is_refused_unless_allowed(
        echo: tuple[int, list[tuple[str, int]]]) -> None:
    port, peers = echo
    with pytest.raises(OutboundRefused, match="loopback"):
        await OutboundPolicy().open_connection("localhost", port, timeout=5)
    assert peers == []


async def test_refused_closed_and_silent_ports_read_the_same() -> None:
    """What an API caller is shown cannot tell a closed port from one that does not answer."""
    silent = socket.socket()  # a listener whose queue is full: connects to it get no answer
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    silent_port = silent.getsockname()[1]
    filling = []
    for _ in range(4):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", silent_port))
        filling.append(sock)
    policy = OutboundPolicy(LOOPBACK)
    messages = []
    try:
        for port in (free_port(), silent_port):  # nothing listens (refused); no answer
            with pytest.raises(DestinationUnreachable) as caught:
                await policy.open_connection("127.0.0.1", port, timeout=0.5)
            messages.append(str(caught.value).replace(str(port), "<port>"))
    finally:
        for sock in [*filling, silent]:
            sock.close()
    assert messages[0] == messages[1]
    assert "refused, unreachable or no answer in time" in messages[0]


async def test_navets_own_port_is_refused_after_connecting_too(
        echo: tuple[int, list[tuple[str, int]]]) -> None:
    """An address whose locality the policy could not know beforehand (an interface of this
    machine): the connection shows it reached this machine, on one of Navet's ports."""
    port, _ = echo
    policy = OutboundPolicy(OutboundSettings(allow_loopback=True))
    policy.add_listener("203.0.113.7", port, "Navet's HTTP API")  # bound to another address
    _, writer = await policy.open_connection("127.0.0.1", port, timeout=5)
    writer.close()  # 127.0.0.1 is not where that listener is bound: allowed
    policy.add_listener(None, port, "the dc09 listener of dc09-sala")  # every address
    with pytest.raises(OutboundRefused, match="dc09 listener"):
        await policy.open_connection("127.0.0.1", port, timeout=5)
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        with pytest.raises(OutboundRefused, match="own listener"):
            policy.check_connected(sock, "this host")
    finally:
        sock.close()


async def test_udp_endpoints_go_to_the_checked_address_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[bytes] = []

    class Sink(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            received.append(data)

    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    port = server.get_extra_info("sockname")[1]
    try:
        lookups = fake_dns(monkeypatch, "udp.example", [["127.0.0.1"], ["169.254.169.254"]])
        policy = OutboundPolicy(LOOPBACK)
        transport, _ = await policy.datagram_endpoint(asyncio.DatagramProtocol, "udp.example",
                                                      port, local_host="127.0.0.1")
        transport.sendto(b"frame")
        await wait_until(lambda: received, "the datagram")
        transport.close()
        assert received == [b"frame"] and lookups == ["udp.example"]
        with pytest.raises(OutboundRefused, match="metadata"):
            await policy.datagram_endpoint(asyncio.DatagramProtocol, "169.254.169.254", port)
    finally:
        server.close()


async def test_the_http_client_pins_the_address_and_checks_every_redirect(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hits: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        hits.append(scope["path"])
        location = [(b"location", f"http://127.0.0.1:{canary}/stolen".encode())] \
            if scope["path"] == "/redirect" else []
        await send({"type": "http.response.start", "status": 307 if location else 200,
                    "headers": location})
        await send({"type": "http.response.body", "body": b"fine"})

    import uvicorn

    from tests.plugins.webhooks.conftest import _Server

    port, canary = free_port(), free_port()
    servers = []
    for host, p in (("127.0.0.2", port), ("127.0.0.1", canary)):
        server = _Server(uvicorn.Config(app, host=host, port=p, lifespan="off",
                                        log_level="warning"))
        servers.append((server, asyncio.create_task(server.serve())))
    try:
        for server, task in servers:
            while not server.started:
                assert not task.done()
                await asyncio.sleep(0.01)
        lookups = fake_dns(monkeypatch, "hook.example", [["127.0.0.2"], ["169.254.169.254"]])
        policy = OutboundPolicy(OutboundSettings(allow=["127.0.0.2/32"]))
        async with policy.http_client(timeout=5) as client:
            assert (await client.get(f"http://hook.example:{port}/a")).text == "fine"
            assert (await client.get(f"http://hook.example:{port}/b")).status_code == 200
            not_followed = await client.get(f"http://hook.example:{port}/redirect")
            assert not_followed.status_code == 307
            with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1.*loopback"):
                await client.get(f"http://hook.example:{port}/redirect",
                                 follow_redirects=True)
            with pytest.raises(httpx.ConnectError):
                await client.get("http://127.0.0.2:9/closed")
        assert lookups == ["hook.example"]  # one connection, kept alive: one lookup
        assert "/stolen" not in hits  # the canary behind the redirect heard nothing
    finally:
        for server, task in servers:
            server.should_exit = True
            await task


def test_the_transport_replaces_httpx_s_connection_pool() -> None:
    """PolicyTransport swaps the pool httpx builds; if httpx renames it, fail loudly here."""
    import httpcore

    from gateway.core.security.outbound.http import PolicyBackend, PolicyTransport

    transport = PolicyTransport(OutboundPolicy())
    pool = transport._pool  # the private attribute the transport relies on
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert isinstance(pool._network_backend, PolicyBackend)
