"""The outbound-destination policy: where Navet may open a connection to.

One :class:`OutboundPolicy` per gateway judges every destination Navet
connects to, whoever configured it: webhook and FHIR rest-hook subscribers,
DC-09, SCAIP and SOS Access receivers, vendor clouds, the identity provider's
JWKS. It is applied twice:

* when a destination is configured (a subscription created over the API, a
  configuration loaded at start), so the caller hears at once what was refused
  and why (:meth:`OutboundPolicy.check_host`, :meth:`OutboundPolicy.check_destination`);
* when a connection is opened (:mod:`.connect`, :mod:`.http`): the host name is
  resolved once, every address it resolves to is checked, and the connection
  goes to a checked address, never through a second resolution, so a DNS answer
  that changes between the check and the connection (rebinding) gains nothing.
  After connecting, a connection that turns out to reach this very host on one
  of Navet's own ports is closed.

Refused always: cloud metadata services, link-local addresses, the unspecified
address, multicast/reserved addresses and Navet's own listeners (its HTTP API,
MQTT broker, protocol receivers), and networks listed in ``outbound.deny``.
Refused unless the deployment allows them: loopback (``allow_loopback``),
private and other non-public ranges (``allow_private``), or either within the
networks listed in ``outbound.allow``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl as ssl_module
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import OutboundRefused
from .addresses import NEVER, IPAddress, IPNetwork, Kind, classify, hostname_kind, literal_address

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class _Listens(Protocol):
    """Where a server of Navet's listens (``settings.http``, ``settings.mqtt``)."""

    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...


class _Broker(_Listens, Protocol):
    @property
    def mode(self) -> str: ...


class GatewaySettings(Protocol):
    """The part of Navet's settings (``gateway.core.settings.Settings``) the policy reads."""

    @property
    def outbound(self) -> OutboundSettings: ...

    @property
    def http(self) -> _Listens: ...

    @property
    def mqtt(self) -> _Broker: ...

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class OutboundSettings(BaseModel):
    """``outbound:`` in the gateway settings (docs/operators.md, "Outbound destinations")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_loopback: bool = Field(
        default=False, description="Allow destinations on this machine's loopback "
        "(127.0.0.0/8, ::1). For tests and the demo; Navet's own ports stay refused.")
    allow_private: bool = Field(
        default=False, description="Allow private and other non-public addresses (RFC 1918, "
        "fc00::/7, 100.64.0.0/10, ...), e.g. an alarm centre reached over a VPN. Narrower: "
        "list the networks in 'allow'.")
    allow: list[IPNetwork] = Field(
        default_factory=list, description="Networks (CIDR) allowed although loopback or "
        "private, e.g. ['10.20.0.0/16']. Never opens metadata, link-local or Navet's own ports.")
    deny: list[IPNetwork] = Field(
        default_factory=list, description="Networks (CIDR) refused in addition, even if "
        "public or allowed above.")

    @field_validator("allow", "deny", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.replace(",", " ").split() if v]
        if isinstance(value, list):
            out = []
            for item in value:
                try:
                    out.append(ipaddress.ip_network(str(item), strict=False))
                except ValueError as err:
                    raise ValueError(f"{item!r} is not a network in CIDR form "
                                     f"(e.g. 10.20.0.0/16): {err}") from None
            return out
        return value


@dataclass(frozen=True, slots=True)
class Listener:
    """A socket Navet itself listens on. ``address`` None: every address of this host."""

    address: IPAddress | None
    port: int
    what: str


class OutboundPolicy:
    """Judges destinations; see the module docstring. Plugins reach it as ``host.outbound``
    (adapters) or ``services.outbound`` (sinks), or through :meth:`of`."""

    def __init__(self, settings: OutboundSettings | None = None,
                 listeners: Iterable[Listener] = ()) -> None:
        self.settings = settings or OutboundSettings()
        self._listeners: list[Listener] = list(listeners)
        self._local: frozenset[IPAddress] | None = None

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> OutboundPolicy:
        """A policy with the listeners the settings name (HTTP API, MQTT broker)."""
        policy = cls(settings.outbound)
        policy.add_listener(settings.http.host, settings.http.port, "Navet's HTTP API")
        if settings.mqtt.mode != "memory":
            policy.add_listener(settings.mqtt.host, settings.mqtt.port, "the MQTT broker")
        return policy

    @classmethod
    def of(cls, services: Any) -> OutboundPolicy:
        """The policy a host or sink services object carries, or a strict default
        (nothing but public addresses) when it carries none, as a bare test double."""
        found = getattr(services, "outbound", None)
        return found if isinstance(found, OutboundPolicy) else cls()

    # ------------------------------------------------------------------ Navet's own ports

    def add_listener(self, host: str | None, port: int, what: str) -> None:
        """Record a socket Navet listens on, so nothing is ever sent to it.

        ``host`` is the address bound ('0.0.0.0', '::' or None for all); a host name
        is resolved now. Port 0 (not bound yet) is ignored.
        """
        if not port:
            return
        addresses: list[IPAddress | None] = []
        literal = literal_address(host) if host else None
        if not host or (literal is not None and literal[0].is_unspecified):
            addresses.append(None)
        elif literal is not None:
            addresses.append(literal[0])
        else:
            try:
                found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError:
                found = []
            addresses += [ipaddress.ip_address(str(f[4][0]).split("%", 1)[0]) for f in found]
            if not addresses:
                addresses.append(None)  # cannot tell where: guard the port everywhere
        for address in addresses:
            listener = Listener(address, int(port), what)
            if listener not in self._listeners:
                self._listeners.append(listener)

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(self._listeners)

    def _local_addresses(self) -> frozenset[IPAddress]:
        """Addresses of this machine's interfaces, as far as its own name resolves."""
        if self._local is None:
            try:
                found = socket.getaddrinfo(socket.gethostname(), None)
            except OSError:
                found = []
            self._local = frozenset(
                ipaddress.ip_address(str(f[4][0]).split("%", 1)[0]) for f in found)
        return self._local

    def own_listener(self, ip: IPAddress, port: int, *, this_host: bool = False) -> str | None:
        """What of Navet's listens at ``ip:port`` (None: nothing). ``this_host``: the
        address is known to be this machine's (a connection showed it)."""
        local = (this_host or ip.is_loopback or ip.is_unspecified
                 or ip in self._local_addresses())
        for listener in self._listeners:
            if listener.port != port:
                continue
            if listener.address == ip:
                return listener.what
            if local and (listener.address is None or listener.address.is_loopback):
                return listener.what
        return None

    # ------------------------------------------------------------------ judging

    def refusal(self, ip: IPAddress, port: int | None = None) -> str | None:
        """Why ``ip`` (on ``port``) is refused, in words; None when it is allowed."""
        verdict = classify(ip)
        plain = verdict.address
        if verdict.kind in NEVER:
            return verdict.describe()
        if port is not None:
            what = self.own_listener(plain, port)
            if what is not None:
                return f"{plain}:{port} is {what}, Navet's own listener"
        for net in self.settings.deny:
            if plain in net or ip in net:
                return f"{verdict.describe()}, in {net} (outbound.deny)"
        if verdict.kind is Kind.PUBLIC:
            return None
        if any(plain in net for net in self.settings.allow):
            return None
        if verdict.kind is Kind.LOOPBACK and not self.settings.allow_loopback:
            return f"{verdict.describe()} (allow with outbound.allow_loopback)"
        if verdict.kind is Kind.PRIVATE and not self.settings.allow_private:
            return (f"{verdict.describe()} (allow with outbound.allow_private, or list its "
                    "network in outbound.allow)")
        return None

    def check_address(self, ip: IPAddress, port: int | None = None, *,
                      host: str | None = None) -> None:
        """Raise :class:`OutboundRefused` unless ``ip`` may be connected to."""
        why = self.refusal(ip, port)
        if why is not None:
            shown = host if host is not None else str(ip)
            where = f"{shown}:{port}" if port is not None else shown
            if host is not None and literal_address(host) is None:
                why = f"the name resolves to {ip}, and {why}"
            raise OutboundRefused(where, why)

    def check_host(self, host: str, port: int | None = None) -> IPAddress | None:
        """What can be judged without DNS: an address written as such, a name that says
        what it is (``localhost``, ``metadata.google.internal``). Returns the address
        when ``host`` is one; raises :class:`OutboundRefused`."""
        where = f"{host}:{port}" if port is not None else host
        if not host:
            raise OutboundRefused(where or "''", "no host")
        literal = literal_address(host)
        if literal is not None:
            ip, form = literal
            why = self.refusal(ip, port)
            if why is not None:
                raise OutboundRefused(where, f"{form} {why}" if form else why)
            if form:  # resolvers disagree on these forms: never guess which address is meant
                raise OutboundRefused(where, f"{host!r} is {form} {ip}; write the address "
                                             "in its usual form")
            return ip
        kind = hostname_kind(host)
        if kind in NEVER:
            raise OutboundRefused(where, f"{host} is the name of {kind.value}")
        if kind is Kind.LOOPBACK:
            loopback = ipaddress.ip_address("127.0.0.1")
            why = self.refusal(loopback, port)
            if why is not None:
                raise OutboundRefused(where, f"{host} names the loopback address: {why}")
        return None

    async def resolve(self, host: str, port: int, *,
                      kind: socket.SocketKind = socket.SOCK_STREAM) -> list[IPAddress]:
        """Every address ``host`` resolves to, each checked; raises :class:`OutboundRefused`
        if any is refused (one bad answer among good ones is an attack, not a fallback)
        or the name does not resolve."""
        literal = self.check_host(host, port)
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=kind)
        except (OSError, UnicodeError) as err:
            raise OutboundRefused(f"{host}:{port}", f"the name does not resolve ({err})") \
                from None
        addresses: list[IPAddress] = []
        for *_, sockaddr in found:
            ip = ipaddress.ip_address(str(sockaddr[0]))
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise OutboundRefused(f"{host}:{port}", "the name resolves to no address")
        for ip in addresses:
            self.check_address(ip, port, host=host)
        return addresses

    def check_connected(self, sock: socket.socket | None, where: str) -> None:
        """After connecting: refuse a connection that reached one of Navet's own ports on
        this very machine (an address the checks before could not know was local)."""
        if sock is None:
            return
        try:
            local, peer = sock.getsockname(), sock.getpeername()
        except OSError:
            return
        if not isinstance(peer, tuple) or not isinstance(local, tuple):
            return
        peer_ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        local_ip = ipaddress.ip_address(str(local[0]).split("%", 1)[0])
        what = self.own_listener(peer_ip, int(peer[1]), this_host=peer_ip == local_ip)
        if what is not None:
            raise OutboundRefused(where, f"the connection reached {what}, Navet's own "
                                         "listener")

    # ------------------------------------------------------------------ URLs

    def check_url(self, url: str, *, schemes: Iterable[str] = ("https", "http")) -> \
            tuple[str, int]:
        """``(host, port)`` of ``url`` after the checks :meth:`check_host` makes."""
        allowed = tuple(schemes)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as err:
            raise OutboundRefused(_shown(url), f"not a usable URL ({err})") from None
        scheme = parts.scheme.lower()
        if scheme not in allowed:
            raise OutboundRefused(_shown(url), f"the scheme must be {' or '.join(allowed)}")
        host = parts.hostname or ""
        port = port or DEFAULT_PORTS.get(scheme, 0)
        self.check_host(host, port)
        return host, port

    async def check_destination(self, host: str, port: int, *,
                                kind: socket.SocketKind = socket.SOCK_STREAM) -> None:
        """The check made when a destination is configured: statically, then through DNS."""
        await self.resolve(host, port, kind=kind)

    async def check_url_resolved(self, url: str, *,
                                 schemes: Iterable[str] = ("https", "http")) -> None:
        host, port = self.check_url(url, schemes=schemes)
        await self.resolve(host, port)

    # ------------------------------------------------------------------ connecting

    async def open_connection(
        self, host: str, port: int, *, timeout: float, ssl: ssl_module.SSLContext | None = None,
        limit: int = 2 ** 16,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """``asyncio.open_connection`` through the policy (:func:`.connect.open_connection`).

        :raises OutboundRefused: refused by the policy (a ``ConnectionError`` too).
        :raises DestinationUnreachable: a ``ConnectionError`` with one message for every
            cause (refused, reset, timed out), so errors shown to API callers cannot tell
            an open port from a closed one.
        """
        from .connect import open_connection

        return await open_connection(self, host, port, timeout=timeout, ssl=ssl, limit=limit)

    async def datagram_endpoint(
        self, factory: Callable[[], asyncio.DatagramProtocol], host: str, port: int, *,
        local_host: str | None = None, timeout: float = 10.0,
    ) -> tuple[asyncio.DatagramTransport, asyncio.DatagramProtocol]:
        """A connected UDP endpoint through the policy (:func:`.connect.datagram_endpoint`)."""
        from .connect import datagram_endpoint

        return await datagram_endpoint(self, factory, host, port, local_host=local_host,
                                       timeout=timeout)

    def http_client(self, *, verify: ssl_module.SSLContext | bool = True,
                    **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose every connection goes through the policy.

        Redirects are not followed unless ``follow_redirects=True`` is passed (each hop
        is then checked too). Keyword arguments go to ``httpx.AsyncClient``.
        """
        import httpx  # here: importing the public API must stay light

        from .http import PolicyTransport

        kwargs.setdefault("follow_redirects", False)
        return httpx.AsyncClient(transport=PolicyTransport(self, verify=verify), **kwargs)


def _shown(url: str) -> str:
    """A URL for a message: without credentials, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the URL"
    return f"{parts.scheme}://{host}{port}{parts.path or ''}"
