"""One listener's intake: PROXY header, admission, fair datagram queue, refusal reports.

A protocol adapter that owns a socket makes one :class:`ListenerIntake` per transport and
lets it decide what comes in; the adapter keeps only the protocol::

    intake = ListenerIntake(host, adapter="dc09", transport="tcp", settings=cfg.listener,
                            max_connections=cfg.max_connections)

    async def serve(reader, writer):            # asyncio.start_server callback
        conn = await intake.accept(reader, writer)
        if conn is None:
            return                               # refused, counted, closed
        try:
            ...read with conn.timeout(idle_s); conn.prove() after a genuine frame...
        finally:
            conn.release()

    udp = intake.bind_datagrams(host, port, handle)   # UDP: handle(data, addr) in workers
    udp.sendto(answer, addr)
    intake.refuse("bad_crc", host, detail=why, sample=raw)   # garbage, counted and sampled

Its name (``<instance>/<transport>``) is the ``listener`` label of
``navet_listener_refused_total`` on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from .admission import Admission, Connection
from .datagram import DatagramEndpoint
from .fair import FairQueue
from .proxy import MAX_V1, ProxyError, looks_like_header, read_header
from .refusals import RefusalLog
from .settings import ListenerSettings

log = logging.getLogger("gateway.intake")

PROVEN_SOURCES = 4096
"""Datagram source addresses remembered as proven (least recently proven forgotten first)."""

Address = tuple[str, int]
DatagramHandler = Callable[[bytes, Any], Awaitable[None]]


class ListenerIntake:
    """Admission, fair intake and refusal reports for one listener of one adapter instance."""

    def __init__(self, host: Any, *, adapter: str, transport: str,
                 settings: ListenerSettings | None = None, max_connections: int = 256,
                 frame_transport: str | None = None) -> None:
        self.settings = settings or ListenerSettings()
        instance = getattr(host, "instance_id", "") or adapter
        self.name = f"{instance}/{transport}"
        self.refusals = RefusalLog(
            self.name, adapter=adapter, tenant=getattr(host, "tenant", ""),
            instance=getattr(host, "instance_id", ""),
            transport=frame_transport or transport, sink=host,
            clock=getattr(host, "clock", None), interval_s=self.settings.report_interval_s,
            max_samples=self.settings.max_samples_per_interval)
        self.admission = Admission(max_connections, self.settings.max_unproven_per_source,
                                   on_evict=self._evicted)
        proxy = self.settings.proxy_protocol
        self._trusted = proxy.networks() if proxy is not None else []
        self._proven_sources: OrderedDict[str, None] = OrderedDict()
        self._queue: FairQueue[tuple[bytes, Any]] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # ------------------------------------------------------------------ reports

    def refuse(self, reason: str, source: str, *, detail: str = "",
               sample: bytes | None = None, count: int = 1) -> asyncio.Task[None] | None:
        """Count ``count`` refusals (``reason`` is a short label), log and sample them
        within bounds.

        Returns the task keeping the sample, when one is kept (await it to answer after).
        """
        return self.refusals.refuse(reason, source, detail=detail, sample=sample, count=count)

    def start(self) -> None:
        """Start the periodic summary of suppressed refusals (on the host's clock)."""
        self._tasks.append(asyncio.get_running_loop().create_task(self._report()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.refusals.aclose()

    async def _report(self) -> None:
        while True:
            await self.refusals.clock.sleep(self.settings.report_interval_s)
            self.refusals.flush()

    # ------------------------------------------------------------------ streams

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                     peek: bool = True) -> Connection | None:
        """Admit a new connection (None: refused, counted and closed).

        Reads the PROXY header of a trusted balancer's connection. With PROXY protocol on,
        it also looks at the first bytes of everyone else's (``peek``) to refuse a header
        they have no right to send; those bytes come back as :attr:`Connection.prefix`.
        Pass ``peek=False`` where the first bytes belong to a TLS handshake.
        """
        peer = _address(writer.get_extra_info("peername"))
        abort = writer.transport.abort
        deadline = asyncio.get_running_loop().time() + self.settings.first_frame_timeout_s
        source, prefix = peer, b""
        try:
            if self.is_trusted(peer[0]):
                header = await asyncio.wait_for(read_header(reader),
                                                self.settings.first_frame_timeout_s)
                source = header.source or peer
            elif self._trusted and peek:
                prefix = await asyncio.wait_for(self._untrusted_start(reader, peer),
                                                self.settings.first_frame_timeout_s)
        except ProxyError as err:
            self.refuse(err.reason, peer[0], detail=err.detail, sample=err.data or None)
            abort()
            return None
        except TimeoutError:
            self.refuse("first_frame_timeout", peer[0], detail="no PROXY header in time")
            abort()
            return None
        except (asyncio.IncompleteReadError, ConnectionError):
            abort()
            return None
        return self.admit(source, peer, abort, prefix=prefix, deadline=deadline)

    def admit(self, source: Address, peer: Address, abort: Callable[[], None], *,
              prefix: bytes = b"", deadline: float | None = None) -> Connection | None:
        """Take a connection whose client address is known (None: refused and aborted).

        :meth:`accept` calls this; so does a listener that read the PROXY header itself
        (:class:`ProxiedTlsServer`). ``deadline`` (loop time) defaults to now plus
        ``first_frame_timeout_s``.
        """
        if deadline is None:
            deadline = asyncio.get_running_loop().time() + self.settings.first_frame_timeout_s
        conn = Connection(self.admission, source, peer, abort, prefix=prefix,
                          deadline=deadline)
        refused = self.admission.admit(conn)
        if refused is not None:
            self.refuse(refused, source[0],
                        detail=f"{self.admission.max_connections} connections, all proven")
            abort()
            return None
        return conn

    async def serve_tls(self, host: str, port: int, context: Any,
                        handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter,
                                           Connection], Awaitable[None]]) -> Any:
        """Listen for TLS behind a balancer that sends the PROXY protocol.

        The header is read from the raw socket before the handshake (see
        :mod:`gateway.sdk.intake.tls`); ``handler(reader, writer, conn)`` gets each
        admitted connection. Returns the server (``sockets``, ``close``, ``wait_closed``).
        """
        from .tls import ProxiedTlsServer  # it builds on this class

        return await ProxiedTlsServer(self, context, handler).start(host, port)

    def timed_out(self, conn: Connection) -> None:
        """Report a read that timed out: a refusal when the connection never proved itself."""
        if not conn.proven:
            self.refuse("first_frame_timeout", conn.host,
                        detail=f"no genuine frame within {self.settings.first_frame_timeout_s}s")

    def is_trusted(self, host: str) -> bool:
        """``host`` is a load balancer whose PROXY header this listener believes."""
        if not self._trusted:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in net for net in self._trusted)

    async def _untrusted_start(self, reader: asyncio.StreamReader, peer: Address) -> bytes:
        data = b""
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                return data
            data += chunk
            verdict = looks_like_header(data)
            if verdict is True:
                raise ProxyError("proxy_untrusted", f"PROXY header from {peer[0]}, which is "
                                 "not a trusted load balancer", data[:MAX_V1])
            if verdict is False:
                return data

    def _evicted(self, conn: Connection, reason: str) -> None:
        self.refuse(reason, conn.host, detail="unproven connection closed to make room")

    # ------------------------------------------------------------------ datagrams

    def bind_datagrams(self, host: str, port: int,
                       handle: DatagramHandler) -> DatagramEndpoint:
        """Listen for UDP on ``host:port``; ``handle(data, addr)`` runs in the workers.

        Returns the endpoint to answer through (``sendto``) and to close at stop.
        """
        self.start_datagrams(handle)
        return DatagramEndpoint.open(
            host, port, self.datagram,
            lambda n: self.refuse("udp_kernel_drop", "kernel", count=n,
                                  detail="the socket's receive buffer was full"),
            receive_buffer=self.settings.udp_receive_buffer_bytes)

    def start_datagrams(self, handle: DatagramHandler) -> None:
        """Serve queued datagrams with ``handle(data, addr)`` in ``udp_workers`` tasks
        (for a caller that reads its socket itself and calls :meth:`datagram`)."""
        s = self.settings
        self._queue = FairQueue(s.udp_queue_per_source, s.udp_queue_total,
                                on_drop=lambda source, reason, item: self.refuse(reason, source))
        loop = asyncio.get_running_loop()
        for _ in range(s.udp_workers):
            self._tasks.append(loop.create_task(self._work(handle)))

    def datagram(self, data: bytes, addr: Any) -> None:
        """Queue one datagram (from ``datagram_received``); never blocks, never raises."""
        assert self._queue is not None, "start_datagrams() first"
        host = _address(addr)[0]
        self._queue.put(host, (data, addr), proven=host in self._proven_sources)

    def prove_source(self, host: str) -> None:
        """Datagrams from ``host`` carried a genuine frame: serve it in the proven ring."""
        self._proven_sources[host] = None
        self._proven_sources.move_to_end(host)
        while len(self._proven_sources) > PROVEN_SOURCES:
            self._proven_sources.popitem(last=False)

    @property
    def queued(self) -> int:
        return len(self._queue) if self._queue is not None else 0

    async def _work(self, handle: DatagramHandler) -> None:
        assert self._queue is not None
        while True:
            _, (data, addr) = await self._queue.get()
            try:
                await handle(data, addr)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad datagram must not stop a worker
                log.exception("%s: handling a datagram from %s failed", self.name, addr)


def _address(addr: Any) -> Address:
    if isinstance(addr, tuple) and len(addr) >= 2:
        return str(addr[0]), int(addr[1])
    return str(addr), 0
