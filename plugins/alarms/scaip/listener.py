"""SIP over UDP, TCP and TLS: framing, size limits, read timeouts, and client transactions.

The listener knows nothing about SCAIP. It hands every request to a handler
with a :class:`Peer` to answer on, and matches responses to requests Navet
sent itself (the ``<mrs>`` MESSAGEs) by branch. Where a response goes follows
RFC 3261 §18.2 and RFC 3581 (:mod:`.addressing`; :meth:`SipListener.respond`);
a request Navet sends is a client transaction with the SIP timers
(:mod:`.transaction`: Timer E retransmissions over UDP, Timer F = 32 s),
which run on the injected clock. Socket timeouts (reading a started message,
connecting) are real time: a socket does not follow a fake clock.

TLS (RFC 3261 §26.2, usually port 5061) is the TCP stream server wrapped in
an ``ssl.SSLContext`` (:class:`TlsConfig`): same framing, same handler, its
own port. With a client CA the listener asks units for a certificate, and
with ``require_client_cert`` refuses the handshake of a unit without a valid
one; SIP digest authentication still applies on top (SS 91100 §8).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from gateway import Clock, SystemClock

from . import sip
from .addressing import STREAMS, Destination, response_destination, stamp_via
from .const import MAX_SIP_BYTES
from .transaction import ClientTransaction, Timers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TlsConfig:
    """Certificates for SIP over TLS (PEM files)."""

    cert: Path
    key: Path
    client_ca: Path | None = None
    require_client_cert: bool = False

    def server_context(self) -> ssl.SSLContext:
        """The listener's context. Raises ``OSError``/``ssl.SSLError`` naming a bad file."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        if self.client_ca is not None:
            ctx.load_verify_locations(cafile=self.client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """For connections Navet opens to a unit: its certificate checked against the CA."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.client_ca)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


@dataclass(frozen=True)
class Peer:
    """Where a request came from, and how to send bytes back there."""

    transport: str  # "udp" | "tcp" | "tls"
    host: str
    port: int
    send: Callable[[bytes], None]
    is_open: Callable[[], bool] = lambda: True  # a stream peer: is its connection still up?

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.transport, self.host, self.port)

    @property
    def source(self) -> Destination:
        return Destination(self.transport, self.host, self.port)


Handler = Callable[[sip.SipMessage, Peer], Awaitable[None]]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, owner: SipListener) -> None:
        self.owner = owner
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        assert transport is not None

        def send(payload: bytes, addr: tuple[str, int] = addr) -> None:
            transport.sendto(payload, addr)

        self.owner.received(data, Peer("udp", addr[0], addr[1], send))


class SipListener:
    def __init__(self, handler: Handler, *, host: str, port: int, transports: tuple[str, ...],
                 read_timeout_s: float, idle_timeout_s: float = 3600.0,
                 max_bytes: int = MAX_SIP_BYTES, tls: TlsConfig | None = None,
                 tls_port: int = 5061, clock: Clock | None = None,
                 timers: Timers | None = None) -> None:
        self.handler = handler
        self.clock: Clock = clock or SystemClock()
        self.timers = timers or Timers()
        self.host = host
        self.port = port
        self.transports = transports
        self.tls = tls
        self.tls_port = tls_port
        self.read_timeout_s = read_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_bytes = max_bytes
        self.ports: dict[str, int] = {}
        self._udp: _Udp | None = None
        self._tcp: asyncio.Server | None = None
        self._tls: asyncio.Server | None = None
        self._tls_client: ssl.SSLContext | None = None
        self._tcp_peers: dict[tuple[str, str, int], Peer] = {}  # (transport, host, port)
        self._pending: dict[str, ClientTransaction] = {}  # Via branch -> our transaction
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        unknown = set(self.transports) - {"udp", "tcp", "tls"}
        if unknown:
            raise ValueError(f"unsupported SIP transports {sorted(unknown)} (udp, tcp, tls)")
        if "tls" in self.transports:
            if self.tls is None:
                raise ValueError("SIP transport tls needs a server certificate and key")
            context = self.tls.server_context()
            self._tls_client = self.tls.client_context()
            self._tls = await asyncio.start_server(
                self._serve_tls, self.host, self.tls_port, ssl=context,
                ssl_handshake_timeout=self.read_timeout_s)
            self.ports["tls"] = self._tls.sockets[0].getsockname()[1]
        port = self.port
        if "tcp" in self.transports:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            self.ports["tcp"] = self._tcp.sockets[0].getsockname()[1]
            port = port or self.ports["tcp"]  # UDP on the same number when port 0 was asked
        if "udp" in self.transports:
            loop = asyncio.get_running_loop()
            _, proto = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, port))
            self._udp = proto
            assert proto.transport is not None
            self.ports["udp"] = proto.transport.get_extra_info("sockname")[1]
        log.info("SCAIP SIP listener on %s %s", self.host, self.ports)

    async def stop(self) -> None:
        for server in (self._tcp, self._tls):
            if server is not None:
                server.close()
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._pending.clear()  # their run() was cancelled with the tasks above
        for server in (self._tcp, self._tls):
            if server is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(server.wait_closed(), 2)

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` in the background; cancelled at stop."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SCAIP SIP task failed", exc_info=task.exception())

    # ------------------------------------------------------------------ inbound

    def received(self, data: bytes, peer: Peer) -> None:
        if len(data) > self.max_bytes:
            log.warning("dropped %d-byte SIP message from %s:%s", len(data), peer.host, peer.port)
            return
        if not data.strip():
            return  # keep-alive
        try:
            msg = sip.parse(data)
        except sip.SipError as err:
            log.warning("bad SIP message from %s:%s: %s", peer.host, peer.port, err)
            bare = _bare_400(data, str(err))
            if bare:
                peer.send(bare)
            return
        if not msg.is_request:
            self._resolve(msg)
            return
        try:
            stamp_via(msg, peer.source)  # received/rport, so the response finds the unit
        except sip.SipError as err:
            log.warning("bad SIP message from %s:%s: %s", peer.host, peer.port, err)
            bare = _bare_400(data, str(err))
            if bare:
                peer.send(bare)
            return
        self.spawn(self.handler(msg, peer))

    def _resolve(self, msg: sip.SipMessage) -> None:
        branch = sip.param(msg.get("Via"), "branch") or ""
        tx = self._pending.get(branch)
        if tx is not None:
            tx.receive(msg)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._serve_stream(reader, writer, "tcp")

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cert = writer.get_extra_info("peercert")
        if cert:
            subject = dict(x[0] for x in cert.get("subject", ()))
            log.info("SIP/TLS connection with client certificate %r",
                     subject.get("commonName", "?"))
        await self._serve_stream(reader, writer, "tls")

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            transport: str) -> None:
        addr = writer.get_extra_info("peername")
        peer = Peer(transport, addr[0], addr[1], writer.write,
                    lambda: not writer.is_closing())
        self._tcp_peers[(transport, addr[0], addr[1])] = peer
        buffer = b""
        try:
            while True:
                timeout = self.read_timeout_s if buffer.strip() else self.idle_timeout_s
                chunk = await asyncio.wait_for(reader.read(8192), timeout)
                if not chunk:
                    return
                buffer += chunk
                while True:
                    message, buffer = sip.frame_stream(buffer, self.max_bytes)
                    if message is None:
                        break
                    self.received(message, peer)
        except (TimeoutError, sip.SipError, ConnectionError, ssl.SSLError) as err:
            log.info("closing SIP/%s connection from %s:%s: %s", transport.upper(), addr[0],
                     addr[1], type(err).__name__ if isinstance(err, TimeoutError) else err)
        finally:
            self._tcp_peers.pop((transport, addr[0], addr[1]), None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    # ------------------------------------------------------------------ responses

    def respond(self, request: sip.SipMessage, peer: Peer, data: bytes, *,
                symmetric: bool = False) -> None:
        """Send the response ``data`` to ``request`` where RFC 3261 §18.2.2 says.

        Over TCP/TLS: on the connection the request came on, or, if the unit
        closed it meanwhile, on a new connection to its address and Via port.
        Over UDP: to the Via's ``received``/``rport`` (:func:`response_destination`);
        ``symmetric`` sends it to the request's source address and port.
        """
        if peer.transport in STREAMS:
            if peer.is_open():
                peer.send(data)
                return
            host, port = response_destination(request, peer.source)
            self.spawn(self._send_on_new_connection(data, Destination(peer.transport, host,
                                                                      port)))
            return
        if self._udp is None or self._udp.transport is None:
            return
        self._udp.transport.sendto(data, response_destination(request, peer.source,
                                                              symmetric=symmetric))

    async def _send_on_new_connection(self, data: bytes, dest: Destination) -> None:
        opened = await self._connect(dest)
        if opened is not None:
            _, writer = opened
            writer.write(data)
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()

    # ------------------------------------------------------------------ requests

    def has_flow(self, flow: Destination) -> bool:
        """True while the connection a unit opened to us (TCP/TLS) is still open."""
        return flow.stream and (flow.transport, flow.host, flow.port) in self._tcp_peers

    async def request(self, msg: sip.SipMessage, dest: Destination) -> sip.SipMessage | None:
        """Send a request as a client transaction; its final response, or None.

        None means Timer F fired (no final response in 64*T1), or ``dest``
        could not be reached at all. Over TCP and TLS an open connection with
        ``dest`` is reused (units behind NAT cannot accept a new connection);
        otherwise one is opened.
        """
        branch = sip.param(msg.get("Via"), "branch") or ""
        tx = ClientTransaction(branch, reliable=dest.stream, clock=self.clock,
                               timers=self.timers)
        self._pending[branch] = tx
        data = msg.encode()
        try:
            if dest.transport == "udp":
                udp = self._udp.transport if self._udp is not None else None
                addr = await self._udp_address(dest) if udp is not None else None
                if udp is None or addr is None:
                    return None
                return await tx.run(lambda: udp.sendto(data, addr))
            peer = self._tcp_peers.get((dest.transport, dest.host, dest.port))
            if peer is not None:
                return await tx.run(lambda: peer.send(data))
            return await self._request_on_new_connection(data, tx, dest)
        finally:
            self._pending.pop(branch, None)

    async def _udp_address(self, dest: Destination) -> tuple[str, int] | None:
        """The socket address of ``dest`` (a name in a Contact is looked up, A/AAAA only)."""
        assert self._udp is not None and self._udp.transport is not None
        family = self._udp.transport.get_extra_info("socket").family
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                dest.host, dest.port, family=family, type=socket.SOCK_DGRAM)
        except OSError as err:
            log.warning("cannot resolve SIP destination %s: %s", dest.host, err)
            return None
        host, port = infos[0][4][:2]
        return str(host), int(port)

    async def _connect(self, dest: Destination) -> tuple[asyncio.StreamReader,
                                                           asyncio.StreamWriter] | None:
        secure = self._tls_client if dest.transport == "tls" else None
        if dest.transport == "tls" and secure is None:
            log.warning("cannot reach SCAIP unit at %s:%s over TLS: TLS is not configured",
                        dest.host, dest.port)
            return None
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(dest.host, dest.port, ssl=secure), self.read_timeout_s)
        except (OSError, TimeoutError) as err:  # ssl.SSLError is an OSError
            log.warning("cannot connect to SCAIP unit at %s:%s: %s", dest.host, dest.port, err)
            return None

    async def _request_on_new_connection(self, data: bytes, tx: ClientTransaction,
                                         dest: Destination) -> sip.SipMessage | None:
        opened = await self._connect(dest)
        if opened is None:
            return None
        reader, writer = opened
        peer = Peer(dest.transport, dest.host, dest.port, writer.write,
                    lambda: not writer.is_closing())

        async def read() -> None:
            buffer = b""
            with contextlib.suppress(TimeoutError, sip.SipError, ConnectionError, ssl.SSLError):
                while chunk := await reader.read(8192):
                    buffer += chunk
                    while (framed := sip.frame_stream(buffer, self.max_bytes))[0] is not None:
                        raw, buffer = framed
                        assert raw is not None
                        self.received(raw, peer)

        reading = asyncio.ensure_future(read())
        running = asyncio.ensure_future(tx.run(lambda: writer.write(data)))
        try:
            # The unit closing the connection ends the wait: nothing more can come.
            await asyncio.wait({reading, running}, return_when=asyncio.FIRST_COMPLETED)
            return running.result() if running.done() else None
        finally:
            for task in (reading, running):
                task.cancel()
            writer.close()


def _bare_400(data: bytes, why: str) -> bytes | None:
    """A 400 for a request we could not parse fully, when its dialog headers are readable."""
    text = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = text.split("\r\n")
    if not lines or not lines[0].endswith("SIP/2.0"):
        return None
    wanted = {"via", "from", "to", "call-id", "cseq", "v", "f", "t", "i"}
    keep = [ln for ln in lines[1:] if ln.split(":", 1)[0].strip().lower() in wanted]
    reason = "".join(ch for ch in why if 32 <= ord(ch) < 127 and ch not in '"\\')[:100]
    head = ["SIP/2.0 400 Bad Request", *keep, f"Warning: 399 navet \"{reason}\"",
            "Content-Length: 0"]
    return ("\r\n".join(head) + "\r\n\r\n").encode()
