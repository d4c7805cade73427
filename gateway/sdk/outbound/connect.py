"""Opening TCP streams and UDP endpoints through the outbound policy.

The host is resolved once; each address is checked; the socket is connected
to a checked address (TLS still verifies the certificate against the host
name). A failure to connect, whatever its cause (refused, reset, unreachable,
no answer in time), is one :class:`DestinationUnreachable` with one message, so
what reaches an API caller cannot tell an open port from a closed one; the
cause goes to the gateway's log.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl as ssl_module
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import OutboundRefused

if TYPE_CHECKING:
    from .policy import OutboundPolicy

log = logging.getLogger(__name__)


class DestinationUnreachable(ConnectionError):
    """No connection to a destination the policy allowed (refused, reset, timed out).

    One message for every cause, on purpose: see the module docstring.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(f"no connection to {where} (refused, unreachable or no answer "
                         "in time)")


def unreachable_message(where: str) -> str:
    """The one text for any failure to reach ``where``, for errors an API caller sees."""
    return str(DestinationUnreachable(where))


async def open_connection(
    policy: OutboundPolicy, host: str, port: int, *, timeout: float,
    ssl: ssl_module.SSLContext | None = None, limit: int = 2 ** 16,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` to ``host:port`` through the policy.

    :raises OutboundRefused: the policy refuses the host or an address it resolves to.
    :raises DestinationUnreachable: no checked address could be connected to in time.
    """
    where = f"{host}:{port}"
    try:
        async with asyncio.timeout(timeout):
            addresses = await policy.resolve(host, port)
            last: BaseException | None = None
            for ip in addresses:
                try:
                    reader, writer = await asyncio.open_connection(
                        str(ip), port, ssl=ssl, limit=limit,
                        server_hostname=host.strip("[]") if ssl is not None else None)
                except (OSError, ssl_module.SSLError) as err:
                    last = err
                    continue
                try:
                    policy.check_connected(writer.get_extra_info("socket"), where)
                except OutboundRefused:
                    writer.close()
                    raise
                return reader, writer
    except OutboundRefused:
        raise
    except TimeoutError as err:
        last = err
    log.info("outbound connection to %s failed: %s", where, _cause(last))
    raise DestinationUnreachable(where) from None


async def datagram_endpoint(
    policy: OutboundPolicy, factory: Callable[[], asyncio.DatagramProtocol], host: str,
    port: int, *, local_host: str | None = None, timeout: float = 10.0,
) -> tuple[asyncio.DatagramTransport, asyncio.DatagramProtocol]:
    """A UDP endpoint connected to ``host:port`` (a checked address) through the policy.

    ``local_host``: the address to send from (port chosen by the system); the
    destination address is picked in that address's family.
    """
    where = f"{host}:{port}"
    async with asyncio.timeout(timeout):
        addresses = await policy.resolve(host, port, kind=socket.SOCK_DGRAM)
    if local_host:
        family = 6 if ":" in local_host else 4
        fitting = [ip for ip in addresses if ip.version == family]
        if not fitting:
            raise OutboundRefused(where, f"it has no IPv{family} address to reach from "
                                         f"{local_host}")
        addresses = fitting
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            factory, remote_addr=(str(addresses[0]), port),
            local_addr=(local_host, 0) if local_host else None)
    except OSError as err:
        log.info("outbound UDP endpoint to %s failed: %s", where, _cause(err))
        raise DestinationUnreachable(where) from None
    try:
        policy.check_connected(transport.get_extra_info("socket"), where)
    except OutboundRefused:
        transport.close()
        raise
    return transport, protocol


def _cause(err: BaseException | None) -> str:
    if err is None:
        return "no address"
    return f"{type(err).__name__}: {err}".rstrip(": ")
