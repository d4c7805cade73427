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

Admission (what comes in at all) is a :class:`gateway.ListenerIntake` per
transport: a stream connection, or a UDP source address, is *proven* once the
user agent has authenticated a request on it (``Peer.prove``); until then it is
limited per source address and must prove itself within
``first_frame_timeout_s``. Datagrams wait in per-source queues served
round-robin by a few workers. Framing-level rejects (no Content-Length over
TCP, headers not UTF-8, oversized ...) are counted by ``SipError.code`` on
``/metrics`` and sampled into the dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway import Clock, ListenerConnection, ListenerIntake, ListenerSettings, SystemClock

from . import sip
from .addressing import STREAMS, Destination, response_destination, stamp_via
from .const import ADAPTER, MAX_SIP_BYTES
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
    prove: Callable[[], None] = field(default=lambda: None, compare=False)
    """Call once the peer has authenticated: its connection (or UDP source) is genuine,
    so it leaves the per-source limits and the first-frame deadline behind."""
    is_open: Callable[[], bool] = field(default=lambda: True, compare=False)
    """A stream peer: is its connection still up?"""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.transport, self.host, self.port)

    @property
    def source(self) -> Destination:
        return Destination(self.transport, self.host, self.port)


Handler = Callable[[sip.SipMessage, Peer], Awaitable[None]]


class _Udp:
    """The UDP socket: drained by the intake into per-source queues (workers hand each
    datagram to the listener); ``transport.sendto`` sends."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport


class SipListener:
    def __init__(self, handler: Handler, *, host: str, port: int, transports: tuple[str, ...],
                 read_timeout_s: float, idle_timeout_s: float = 3600.0,
                 max_bytes: int = MAX_SIP_BYTES, tls: TlsConfig | None = None,
                 tls_port: int = 5061, clock: Clock | None = None,
                 timers: Timers | None = None, host_services: Any = None,
                 listener: ListenerSettings | None = None,
                 max_connections: int = 256) -> None:
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
        # ---- admission, fair intake, refusal counters (gateway.ListenerIntake)
        self.host_services = host_services
        self.listener = listener or ListenerSettings()
        self.max_connections = max_connections
        self.intakes: dict[str, ListenerIntake] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        unknown = set(self.transports) - {"udp", "tcp", "tls"}
        if unknown:
            raise ValueError(f"unsupported SIP transports {sorted(unknown)} (udp, tcp, tls)")
        for transport in self.transports:
            intake = ListenerIntake(self.host_services, adapter=ADAPTER, transport=transport,
                                    settings=self.listener, max_connections=self.max_connections,
                                    frame_transport=f"sip-{transport}")
            intake.start()
            self.intakes[transport] = intake
        if "tls" in self.transports:
            if self.tls is None:
                raise ValueError("SIP transport tls needs a server certificate and key")
            context = self.tls.server_context()
            self._tls_client = self.tls.client_context()
            if self.listener.proxy_protocol is not None:
                # the PROXY header comes before the TLS handshake: the intake reads it from
                # the raw socket, then starts TLS, then admits
                self._tls = await self.intakes["tls"].serve_tls(
                    self.host, self.tls_port, context, self._serve_tls_connection)
            else:
                self._tls = await asyncio.start_server(
                    self._serve_tls, self.host, self.tls_port, ssl=context,
                    ssl_handshake_timeout=self.listener.first_frame_timeout_s)
            self.ports["tls"] = self._tls.sockets[0].getsockname()[1]
        port = self.port
        if "tcp" in self.transports:
            self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
            self.ports["tcp"] = self._tcp.sockets[0].getsockname()[1]
            port = port or self.ports["tcp"]  # UDP on the same number when port 0 was asked
        if "udp" in self.transports:
            endpoint = self.intakes["udp"].bind_datagrams(self.host, port, self._take_datagram)
            self._udp = _Udp(endpoint)
            self.ports["udp"] = endpoint.get_extra_info("sockname")[1]
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
        for intake in self.intakes.values():
            await intake.stop()

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
        """A message framed off a stream: its request is handled in the background."""
        msg = self._read(data, peer)
        if msg is not None:
            self.spawn(self.handler(msg, peer))

    async def _take_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        """One queued datagram, in an intake worker: handled before the worker takes more."""
        udp = self._udp.transport if self._udp is not None else None
        if udp is None:
            return
        intake = self.intakes["udp"]

        def send(payload: bytes) -> None:
            udp.sendto(payload, addr)

        peer = Peer("udp", addr[0], addr[1], send,
                    prove=lambda: intake.prove_source(addr[0]))
        msg = self._read(data, peer)
        if msg is not None:
            await self.handler(msg, peer)

    def _read(self, data: bytes, peer: Peer) -> sip.SipMessage | None:
        """Parse one message: a request to handle, or None (response matched, or refused)."""
        intake = self.intakes.get(peer.transport)
        if len(data) > self.max_bytes:
            self._refuse(intake, "too_large", peer, data,
                         f"{len(data)}-byte message, limit {self.max_bytes}")
            return None
        if not data.strip():
            return None  # keep-alive
        try:
            msg = sip.parse(data)
        except sip.SipError as err:
            self._refuse(intake, err.code, peer, data, str(err))
            bare = _bare_400(data, str(err))
            if bare:
                peer.send(bare)
            return None
        if not msg.is_request:
            self._resolve(msg)
            return None
        try:
            stamp_via(msg, peer.source)  # received/rport, so the response finds the unit
        except sip.SipError as err:
            self._refuse(intake, err.code, peer, data, str(err))
            bare = _bare_400(data, str(err))
            if bare:
                peer.send(bare)
            return None
        return msg

    @staticmethod
    def _refuse(intake: ListenerIntake | None, reason: str, peer: Peer, data: bytes,
                detail: str) -> None:
        if intake is not None:  # counted on /metrics, logged and sampled within bounds
            intake.refuse(reason, peer.host, detail=detail, sample=data)
        else:  # a connection Navet opened itself: not a listener's intake
            log.warning("bad SIP message from %s:%s: %s", peer.host, peer.port, detail)

    def _resolve(self, msg: sip.SipMessage) -> None:
        branch = sip.param(msg.get("Via"), "branch") or ""
        tx = self._pending.get(branch)
        if tx is not None:
            tx.receive(msg)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = await self.intakes["tcp"].accept(reader, writer)
        if conn is not None:
            await self._serve_stream(reader, writer, "tcp", conn)

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = await self.intakes["tls"].accept(reader, writer, peek=False)  # after handshake
        if conn is not None:
            await self._serve_tls_connection(reader, writer, conn)

    async def _serve_tls_connection(self, reader: asyncio.StreamReader,
                                    writer: asyncio.StreamWriter,
                                    conn: ListenerConnection) -> None:
        cert = writer.get_extra_info("peercert")
        if cert:
            subject = dict(x[0] for x in cert.get("subject", ()))
            log.info("SIP/TLS connection with client certificate %r",
                     subject.get("commonName", "?"))
        await self._serve_stream(reader, writer, "tls", conn)

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            transport: str, conn: ListenerConnection) -> None:
        intake = self.intakes[transport]
        host, port = conn.source
        peer = Peer(transport, host, port, writer.write, prove=conn.prove,
                    is_open=lambda: not writer.is_closing())
        self._tcp_peers[(transport, host, port)] = peer
        buffer = conn.prefix
        try:
            while True:
                while True:
                    message, buffer = sip.frame_stream(buffer, self.max_bytes)
                    if message is None:
                        break
                    self.received(message, peer)
                idle = self.read_timeout_s if buffer.strip() else self.idle_timeout_s
                try:
                    chunk = await conn.read(reader, 8192, idle)
                except TimeoutError:
                    intake.timed_out(conn)
                    if conn.proven:
                        log.info("closing idle SIP/%s connection from %s:%s",
                                 transport.upper(), host, port)
                    return
                if not chunk:
                    return
                buffer += chunk
        except sip.SipError as err:  # the stream cannot be framed any further
            intake.refuse(err.code, host, detail=str(err), sample=buffer)
        except (ConnectionError, ssl.SSLError) as err:
            log.info("closing SIP/%s connection from %s:%s: %s", transport.upper(), host,
                     port, err)
        finally:
            conn.release()
            self._tcp_peers.pop((transport, host, port), None)
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
