"""The PROXY protocol (HAProxy, versions 1 and 2): the client's address from a load balancer.

A TCP load balancer in front of a listener hides the client: every connection comes from
the balancer. With the PROXY protocol the balancer starts each connection with one header
naming the client's address. Version 1 is a text line, at most 107 bytes::

    PROXY TCP4 198.51.100.7 203.0.113.9 51234 12300\\r\\n
    PROXY UNKNOWN\\r\\n                      (the balancer's own connection, e.g. a health check)

Version 2 is binary: a 12-byte signature, version/command, family/protocol, a big-endian
length and the addresses (4+4+2+2 bytes for IPv4, 16+16+2+2 for IPv6), then optional TLVs,
which Navet skips. Command LOCAL (0x20) is the balancer's own connection.

Only a peer listed as trusted may send a header; the listener refuses one from anyone else,
since believing it would let any client claim any address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SIGNATURE_V2 = b"\r\n\r\n\x00\r\nQUIT\n"
PREFIX_V1 = b"PROXY "
MAX_V1 = 107
"""The longest version 1 line, CRLF included (the specification's bound)."""
MAX_V2_BODY = 4096
"""Addresses plus TLVs a version 2 header may carry before Navet calls it garbage."""


class ProxyError(ValueError):
    """A PROXY header that cannot be believed: ``reason`` is the counter label."""

    def __init__(self, reason: str, detail: str, data: bytes = b"") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.data = data


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    version: int
    source: tuple[str, int] | None
    """The client's address and port; None for the balancer's own connection."""
    destination: tuple[str, int] | None = None


def looks_like_header(data: bytes) -> bool | None:
    """True when ``data`` starts with a PROXY header, False when it cannot, None: undecided."""
    for signature in (PREFIX_V1, SIGNATURE_V2):
        n = min(len(data), len(signature))
        if data[:n] == signature[:n]:
            return True if n == len(signature) else None
    return False


def parse_v1(line: bytes) -> ProxyHeader:
    """Read one version 1 line (CRLF included)."""
    if len(line) > MAX_V1 or not line.endswith(b"\r\n"):
        raise ProxyError("proxy_malformed", f"PROXY v1 line longer than {MAX_V1} bytes "
                         "or not ended by CRLF", line[:MAX_V1])
    try:
        parts = line[:-2].decode("ascii").split(" ")
    except UnicodeDecodeError:
        raise ProxyError("proxy_malformed", "PROXY v1 line is not ASCII", line) from None
    if len(parts) >= 2 and parts[1] == "UNKNOWN":
        return ProxyHeader(1, None)
    if len(parts) != 6 or parts[1] not in ("TCP4", "TCP6"):
        raise ProxyError("proxy_malformed", f"PROXY v1 line {line[:60]!r} is not "
                         "'PROXY TCP4|TCP6 src dst sport dport'", line)
    family = 4 if parts[1] == "TCP4" else 6
    src, dst = _address(parts[2], family, line), _address(parts[3], family, line)
    return ProxyHeader(1, (src, _port(parts[4], line)), (dst, _port(parts[5], line)))


def parse_v2(head: bytes, body: bytes) -> ProxyHeader:
    """Read a version 2 header: ``head`` is its first 16 bytes, ``body`` the rest."""
    if head[:12] != SIGNATURE_V2:
        raise ProxyError("proxy_malformed", "PROXY v2 signature is wrong", head)
    version, command = head[12] >> 4, head[12] & 0x0F
    if version != 2 or command not in (0, 1):
        raise ProxyError("proxy_malformed", f"PROXY v2 version/command byte 0x{head[12]:02X} "
                         "is not 0x20 (LOCAL) or 0x21 (PROXY)", head)
    if command == 0:
        return ProxyHeader(2, None)
    family, protocol = head[13] >> 4, head[13] & 0x0F
    if protocol not in (0, 1) or family == 0:  # UNSPEC or not a stream: use the peer
        return ProxyHeader(2, None)
    if family == 1 and len(body) >= 12:
        src, dst, sport, dport = struct.unpack("!4s4sHH", body[:12])
    elif family == 2 and len(body) >= 36:
        src, dst, sport, dport = struct.unpack("!16s16sHH", body[:36])
    elif family == 3:  # AF_UNIX: no address to believe
        return ProxyHeader(2, None)
    else:
        raise ProxyError("proxy_malformed", f"PROXY v2 family 0x{head[13]:02X} with "
                         f"{len(body)} address bytes", head + body)
    return ProxyHeader(2, (str(ipaddress.ip_address(src)), sport),
                       (str(ipaddress.ip_address(dst)), dport))


async def read_header(reader: asyncio.StreamReader | Callable[[int], Awaitable[bytes]]
                      ) -> ProxyHeader:
    """Read exactly one header from a trusted balancer's connection, and nothing after it.

    ``reader`` is a ``StreamReader`` or a function reading exactly n bytes (raising
    ``asyncio.IncompleteReadError`` at end of stream), e.g. over a raw socket. Reading no
    further than the header matters for TLS: the handshake starts on the next byte.

    :raises ProxyError: the connection does not start with a valid header.
    :raises asyncio.IncompleteReadError: the peer closed before the header was complete.
    """
    exactly = reader.readexactly if isinstance(reader, asyncio.StreamReader) else reader
    first = await exactly(1)
    if first == b"P":
        line = first
        while not line.endswith(b"\n"):  # byte by byte: at most 107, and never past the end
            if len(line) >= MAX_V1:
                raise ProxyError("proxy_malformed", f"PROXY v1 line longer than {MAX_V1} "
                                 "bytes", line)
            line += await exactly(1)
        if not line.startswith(PREFIX_V1):
            raise ProxyError("proxy_missing", "connection from a trusted balancer does not "
                             "start with a PROXY header", line)
        return parse_v1(line)
    if first == SIGNATURE_V2[:1]:
        head = first + await exactly(15)
        if head[:12] != SIGNATURE_V2:
            raise ProxyError("proxy_missing", "connection from a trusted balancer does not "
                             "start with a PROXY header", head)
        (length,) = struct.unpack("!H", head[14:16])
        if length > MAX_V2_BODY:
            raise ProxyError("proxy_malformed", f"PROXY v2 header announces {length} bytes",
                             head)
        return parse_v2(head, await exactly(length) if length else b"")
    raise ProxyError("proxy_missing", "connection from a trusted balancer does not start "
                     "with a PROXY header", first)


def socket_reader(sock: socket.socket) -> Callable[[int], Awaitable[bytes]]:
    """Read exactly n bytes from a non-blocking socket (before any transport owns it)."""
    loop = asyncio.get_running_loop()

    async def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = await loop.sock_recv(sock, n - len(data))
            if not chunk:
                raise asyncio.IncompleteReadError(data, n)
            data += chunk
        return data

    return exactly


def _address(text: str, family: int, line: bytes) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ProxyError("proxy_malformed", f"PROXY v1 address {text[:40]!r} is not an "
                         "IP address", line) from None
    if address.version != family:
        raise ProxyError("proxy_malformed", f"PROXY v1 address {text} is not IPv{family}", line)
    return str(address)


def _port(text: str, line: bytes) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535 or (len(text) > 1 and text[0] == "0"):
        raise ProxyError("proxy_malformed", f"PROXY v1 port {text[:10]!r} is not 0-65535", line)
    return int(text)
