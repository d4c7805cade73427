"""A UDP socket drained in batches into the fair queue, with the kernel's drops counted.

asyncio's datagram transport reads one datagram per turn of the event loop. Under a flood
the socket's receive buffer then fills, and the kernel drops whatever arrives next, a
genuine alarm as readily as the flood, silently. Here every readiness event drains the
socket (up to :data:`BATCH` datagrams) into the per-source queues, where fairness applies,
and the buffer is enlarged (``udp_receive_buffer_bytes``, capped by the kernel's
``net.core.rmem_max``). What the kernel still drops is read from ``SO_RXQ_OVFL`` (Linux)
and reported as ``udp_kernel_drop``, so no drop goes unseen.

The object quacks like an ``asyncio.DatagramTransport`` for what listeners use
(``sendto``, ``get_extra_info("sockname")``, ``close``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections.abc import Callable
from typing import Any

log = logging.getLogger("gateway.intake")

BATCH = 512
"""Datagrams read per readiness event before other work gets a turn."""
MAX_DATAGRAM = 65535
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40)  # Linux; Python does not name it everywhere


class DatagramEndpoint:
    def __init__(self, sock: socket.socket, deliver: Callable[[bytes, Any], None],
                 on_kernel_drop: Callable[[int], object]) -> None:
        self.sock = sock
        self.deliver = deliver
        self.on_kernel_drop = on_kernel_drop
        self._loop = asyncio.get_running_loop()
        self._overflow: int | None = None  # the kernel's running drop count, when it says
        self._ancillary = 0
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
            self._ancillary = socket.CMSG_SPACE(4)
        self._closed = False
        self._loop.add_reader(sock.fileno(), self._drain)

    @classmethod
    def open(cls, host: str, port: int, deliver: Callable[[bytes, Any], None],
             on_kernel_drop: Callable[[int], object], *,
             receive_buffer: int | None = None) -> DatagramEndpoint:
        """Bind ``host:port`` (0: any free port); ``deliver(data, addr)`` gets each datagram."""
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if receive_buffer:
                with contextlib.suppress(OSError):  # the kernel caps it; a hint, not a must
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        return cls(sock, deliver, on_kernel_drop)

    # ------------------------------------------------------------------ transport-like

    def sendto(self, data: bytes, addr: Any) -> None:
        """Send one datagram; a full send buffer drops it (UDP: the peer repeats)."""
        if self._closed:
            return
        try:
            self.sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            log.info("UDP send buffer full, answer to %s dropped", addr)
        except OSError as err:
            log.info("UDP send to %s failed: %s", addr, err)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return self.sock.getsockname()
        if name == "socket":
            return self.sock
        return default

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.remove_reader(self.sock.fileno())
            self.sock.close()

    # ------------------------------------------------------------------ reading

    def _drain(self) -> None:
        for _ in range(BATCH):
            try:
                if self._ancillary:
                    data, ancdata, _, addr = self.sock.recvmsg(MAX_DATAGRAM, self._ancillary)
                    self._count_overflow(ancdata)
                else:
                    data, addr = self.sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. an ICMP error for an earlier answer: keep reading
                log.debug("UDP receive error: %s", err)
                continue
            try:
                self.deliver(data, addr)
            except Exception:  # a bug downstream must not stop the socket being read
                log.exception("UDP datagram from %s could not be queued", addr)

    def _count_overflow(self, ancdata: list[tuple[int, int, bytes]]) -> None:
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= 4:
                (total,) = struct.unpack("=I", value[:4])
                dropped = (total - self._overflow) % 2**32 if self._overflow is not None \
                    else total  # the kernel's counter is 32 bits and wraps
                self._overflow = total
                if dropped:
                    try:
                        self.on_kernel_drop(dropped)
                    except Exception:
                        log.exception("counting %d dropped datagrams failed", dropped)
