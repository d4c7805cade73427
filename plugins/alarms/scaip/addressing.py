"""Where SIP messages go: responses by the Via (RFC 3261 §18.2, RFC 3581), requests by URI.

Responses (the 200 OK to a unit's REGISTER or MESSAGE):

- On receipt the top Via is stamped (§18.2.1): ``received=<source IP>`` when
  its sent-by host is not the packet's source, and, when the unit asked with
  an empty ``rport`` (RFC 3581), ``rport=<source port>`` plus ``received``.
- Over TCP/TLS the response goes back on the connection the request came on.
- Over UDP (§18.2.2) it goes to the ``received`` address, at the ``rport``
  port when there is one, else at the sent-by port (default 5060). So the IP
  is always the packet's source: a response is never sent to a third host.
  A unit configured ``symmetric`` (behind NAT) gets it at the source port
  whatever its Via says, as if it had asked for ``rport``.

New requests to a unit (the ``<mrs>`` MESSAGE) go to a SIP URI: the Contact
the unit registered, or the Contact of its request. :func:`uri_destination`
turns one into an address (a subset of RFC 3263: the URI's host, its port or
5060/5061, its ``transport`` parameter; no NAPTR or SRV look-ups).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import sip

STREAMS = ("tcp", "tls")
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


@dataclass(frozen=True)
class Destination:
    """A transport address: where bytes go, or where they came from."""

    transport: str  # "udp" | "tcp" | "tls"
    host: str
    port: int

    @property
    def stream(self) -> bool:
        return self.transport in STREAMS


@dataclass(frozen=True)
class Via:
    """The top Via of a message: ``SIP/2.0/UDP host:port;branch=..;received=..;rport=..``."""

    transport: str
    host: str
    port: int | None
    params: tuple[tuple[str, str | None], ...]

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    def has(self, name: str) -> bool:
        return any(k == name for k, _ in self.params)

    def encode(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        sent_by = host if self.port is None else f"{host}:{self.port}"
        params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params)
        return f"SIP/2.0/{self.transport.upper()} {sent_by}{params}"


_VIA = re.compile(r"^\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+"  # protocol and transport
                  r"(\[[^\]]+\]|[^\s;:]+)(?::(\d+))?\s*(.*)$")  # sent-by host, port; params


def split_top(value: str) -> tuple[str, str]:
    """``"a, b"`` -> ``("a", ", b")``: the first Via value of a header line, and the rest."""
    head, comma, rest = value.partition(",")
    return head, (comma + rest) if comma else ""


def parse_via(value: str) -> Via:
    """Read the first Via value in ``value``. Raises :class:`sip.SipError` naming it."""
    top, _ = split_top(value)
    m = _VIA.match(top)
    if m is None:
        raise sip.SipError(f"bad Via header {top[:80]!r}")
    params: list[tuple[str, str | None]] = []
    for part in m.group(4).split(";")[1:]:
        name, eq, val = part.strip().partition("=")
        if name:
            params.append((name.lower(), val.strip() if eq else None))
    return Via(m.group(1).lower(), m.group(2).strip("[]"),
               int(m.group(3)) if m.group(3) else None, tuple(params))


def _with(params: tuple[tuple[str, str | None], ...], name: str,
          value: str) -> tuple[tuple[str, str | None], ...]:
    if any(k == name for k, _ in params):
        return tuple((k, value if k == name else v) for k, v in params)
    return (*params, (name, value))


def stamp_via(msg: sip.SipMessage, source: Destination) -> None:
    """Add ``received``/``rport`` to the top Via of a request that came from ``source``."""
    for i, (name, value) in enumerate(msg.headers):
        if name.lower() != "via":
            continue
        top, rest = split_top(value)
        via = parse_via(top)
        params = via.params
        wants_rport = via.has("rport")
        if wants_rport:
            params = _with(params, "rport", str(source.port))
        if wants_rport or via.host != source.host:
            params = _with(params, "received", source.host)
        if params != via.params:
            msg.headers[i] = (name, Via(via.transport, via.host, via.port, params).encode() + rest)
        return


def response_destination(request: sip.SipMessage, source: Destination, *,
                         symmetric: bool = False) -> tuple[str, int]:
    """Where a response to ``request`` (received over UDP from ``source``) is sent."""
    if symmetric:
        return source.host, source.port
    try:
        via = parse_via(request.get("Via"))
    except sip.SipError:
        return source.host, source.port  # unreadable Via: only the source is known
    host = via.param("received") or via.host
    rport = via.param("rport")
    if rport is not None and rport.isdigit():
        return host, int(rport)
    return host, via.port or DEFAULT_PORTS.get(via.transport, 5060)


def uri_destination(uri: str, *, default_transport: str = "udp") -> Destination:
    """The address a request to SIP URI ``uri`` is sent to (RFC 3263 without DNS records).

    ``transport=`` in the URI decides the transport; ``sips:`` means TLS; without
    either it is ``default_transport``. Raises :class:`sip.SipError` for a URI
    that names no host.
    """
    scheme = uri.split(":", 1)[0].strip().lower()
    transport = (sip.param(uri, "transport") or "").lower()
    if transport not in DEFAULT_PORTS:
        transport = "tls" if scheme == "sips" else default_transport
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    hostport = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0].strip()
    m = re.fullmatch(r"(\[[^\]]+\]|[^:\[\]]+)(?::(\d+))?", hostport)
    if m is None or not m.group(1).strip("[]"):
        raise sip.SipError(f"no host in SIP URI {uri[:80]!r}")
    port = int(m.group(2)) if m.group(2) else DEFAULT_PORTS[transport]
    return Destination(transport, m.group(1).strip("[]"), port)
