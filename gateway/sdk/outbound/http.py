"""An httpx transport whose every connection goes through the outbound policy.

httpx hands the opening of TCP connections to an httpcore *network backend*.
:class:`PolicyBackend` wraps the default one: it resolves the host itself,
checks every address, and asks the default backend to connect to a checked
address literally, so no second resolution happens; TLS still verifies the
certificate against the host name in the URL (httpcore passes it as the server
name). This holds for every request the client makes, redirects included.

Environment proxies (``HTTPS_PROXY``) are not used: through a proxy, the proxy
would choose the address and the policy could not check it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    from .policy import OutboundPolicy


class PolicyBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: OutboundPolicy,
                 inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.resolve(host, port)
        last: Exception | None = None
        for ip in addresses:
            try:
                stream = await self.inner.connect_tcp(str(ip), port, timeout=timeout,
                                                      local_address=local_address,
                                                      socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                last = err
                continue
            try:
                self.policy.check_connected(stream.get_extra_info("socket"), f"{host}:{port}")
            except Exception:
                await stream.aclose()
                raise
            return stream
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the outbound policy allows no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class PolicyTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` whose connection pool uses :class:`PolicyBackend`."""

    def __init__(self, policy: OutboundPolicy, *, verify: ssl.SSLContext | bool = True,
                 limits: httpx.Limits = LIMITS) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        context = verify if isinstance(verify, ssl.SSLContext) else \
            httpx.create_ssl_context(verify=verify, trust_env=False)
        # httpx builds its pool without a way to pass a network backend; the pool is the
        # one thing replaced here, so request mapping and error mapping stay httpx's own.
        # tests/core/security/test_outbound_http.py fails if httpx renames it.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PolicyBackend(policy),
        )
