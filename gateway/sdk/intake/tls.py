"""A TLS listener behind a load balancer: PROXY header from the raw socket, then TLS.

The balancer passes TLS through and puts the PROXY header in front of it. The header must
be read *before* any transport owns the socket: asyncio's streams read whatever has
arrived, the start of the TLS handshake included, and ``start_tls`` cannot be handed those
bytes back. So this server accepts raw sockets, reads exactly the header from a trusted
balancer's (:func:`proxy.read_header` over :func:`proxy.socket_reader`), and only then lets
asyncio wrap the socket in TLS (``loop.connect_accepted_socket``). A peer that is not a
trusted balancer goes straight to the handshake, which a PROXY header from it fails
(counted ``tls_handshake_failed``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from .admission import Connection
from .listener import ListenerIntake
from .proxy import ProxyError, read_header, socket_reader

log = logging.getLogger("gateway.intake")

StreamHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, Connection],
                         Awaitable[None]]


class ProxiedTlsServer:
    """Quacks like the ``asyncio.Server`` listeners use (``sockets``, ``close``,
    ``wait_closed``); ``handler(reader, writer, conn)`` gets each admitted connection."""

    def __init__(self, intake: ListenerIntake, context: ssl.SSLContext,
                 handler: StreamHandler, *, limit: int = 2**16) -> None:
        self.intake = intake
        self.context = context
        self.handler = handler
        self.limit = limit
        self.sockets: list[socket.socket] = []
        self._accepting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> ProxiedTlsServer:
        listening = socket.create_server((host, port), family=_family(host), backlog=128)
        listening.setblocking(False)
        self.sockets = [listening]
        self._accepting = asyncio.get_running_loop().create_task(self._accept(listening))
        return self

    def close(self) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        for task in list(self._tasks):
            task.cancel()
        for sock in self.sockets:
            sock.close()

    async def wait_closed(self) -> None:
        pending = [t for t in (self._accepting, *self._tasks) if t is not None]
        await asyncio.gather(*pending, return_exceptions=True)

    async def _accept(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, addr = await loop.sock_accept(listening)
            except OSError as err:  # e.g. out of file descriptors: try again shortly
                log.warning("%s: accept failed: %s", self.intake.name, err)
                await asyncio.sleep(0.1)
                continue
            task = loop.create_task(self._serve(sock, (str(addr[0]), int(addr[1]))))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        intake, loop = self.intake, asyncio.get_running_loop()
        sock.setblocking(False)
        deadline = loop.time() + intake.settings.first_frame_timeout_s
        source = peer
        if intake.is_trusted(peer[0]):
            try:
                header = await asyncio.wait_for(read_header(socket_reader(sock)),
                                                deadline - loop.time())
            except ProxyError as err:
                intake.refuse(err.reason, peer[0], detail=err.detail, sample=err.data or None)
                sock.close()
                return
            except TimeoutError:
                intake.refuse("first_frame_timeout", peer[0], detail="no PROXY header in time")
                sock.close()
                return
            except (OSError, asyncio.IncompleteReadError):  # the balancer hung up
                sock.close()
                return
            source = header.source or peer
        reader = asyncio.StreamReader(limit=self.limit)
        protocol = asyncio.StreamReaderProtocol(reader)
        try:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, sock, ssl=self.context,
                ssl_handshake_timeout=max(0.1, deadline - loop.time()))
        except (OSError, TimeoutError) as err:  # ssl.SSLError is an OSError
            intake.refuse("tls_handshake_failed", source[0],
                          detail=str(err) or type(err).__name__)
            sock.close()
            return
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        conn = intake.admit(source, peer, transport.abort, deadline=deadline)
        if conn is None:
            return
        await self.handler(reader, writer, conn)


def _family(host: str) -> Any:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
