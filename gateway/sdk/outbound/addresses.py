"""What kind of destination an address or host name is, for the outbound policy.

Every address falls in one :class:`Kind`. Three kinds are never a legitimate
place for Navet to send alarms to and are refused whatever the configuration
(``NEVER``); loopback and private addresses are refused unless the deployment
allows them (``outbound.allow_loopback`` / ``allow_private`` / ``allow``).

Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped
``::ffff:a.b.c.d``, IPv4-compatible, NAT64, 6to4, Teredo) are judged by the
IPv4 address inside, so ``[::ffff:169.254.169.254]`` is the metadata service.
Host names in legacy numeric IPv4 forms (``2852039166``, ``0251.0376.0251.0376``,
``0xa9fea9fe``), which the system resolver quietly turns into addresses, are
recognised as the address they stand for.
"""

from __future__ import annotations

import enum
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Kind(enum.Enum):
    METADATA = "a cloud metadata service"
    LINK_LOCAL = "a link-local address"
    THIS_HOST = "the unspecified address, which reaches this host"
    NOT_UNICAST = "not a unicast address (multicast, broadcast or reserved)"
    LOOPBACK = "a loopback address"
    PRIVATE = "a private or non-public address"
    PUBLIC = "a public address"


NEVER: Final = frozenset({Kind.METADATA, Kind.LINK_LOCAL, Kind.THIS_HOST, Kind.NOT_UNICAST})
"""Refused whatever the configuration, even inside an ``outbound.allow`` network."""


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# Instance metadata services hand out cloud credentials: the classic SSRF prize. Most live
# in the link-local range (refused anyway); these are the ones that do not, or that the
# message should name as what they are.
METADATA_ADDRESSES: Final = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, Hetzner ...
    "169.254.170.2",    # AWS ECS task metadata and credentials
    "169.254.170.23",   # AWS EKS Pod Identity agent
    "fd00:ec2::254",    # AWS IMDS over IPv6 (inside fc00::/7, which may be allowed)
    "fd00:ec2::23",     # AWS EKS Pod Identity agent over IPv6
    "100.100.100.200",  # Alibaba Cloud (inside 100.64.0.0/10, which may be allowed)
    "168.63.129.16",    # Azure WireServer (a public address, reachable only from Azure VMs)
    "192.0.0.192",      # Oracle Cloud Infrastructure (legacy metadata address)
))
METADATA_HOSTNAMES: Final = frozenset({
    "metadata.google.internal", "metadata.goog", "metadata", "instance-data",
    "instance-data.ec2.internal", "metadata.tencentyun.com", "metadata.platformequinix.com",
})

LINK_LOCAL: Final = _nets("169.254.0.0/16", "fe80::/10")
THIS_HOST: Final = _nets("0.0.0.0/8", "::/128")
NOT_UNICAST: Final = _nets("224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32", "ff00::/8")
LOOPBACK: Final = _nets("127.0.0.0/8", "::1/128")
PRIVATE: Final = _nets(
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
    "100.64.0.0/10",                                   # shared address space (CGNAT)
    "192.0.0.0/24", "198.18.0.0/15",                   # IETF assignments, benchmarking
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",  # documentation
    "fc00::/7",                                        # unique local (IPv6 private)
    "fec0::/10",                                       # deprecated site-local
    "100::/64",                                        # discard-only
    "2001:2::/48", "2001:10::/28", "2001:20::/28",     # benchmarking, ORCHID
)
NAT64: Final = _nets("64:ff9b::/96", "64:ff9b:1::/48")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an address is. ``address`` is the one judged (the IPv4 inside, if any)."""

    kind: Kind
    address: IPAddress
    form: str = ""  # how it was written, when not plainly: "IPv4-mapped IPv6 form of ..."

    def describe(self) -> str:
        where = f"{self.form} {self.address}" if self.form else str(self.address)
        return f"{where} is {self.kind.value}"


def embedded_ipv4(ip: IPAddress) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address carries, and the name of the form, if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "the IPv4-mapped IPv6 form of"
    if any(ip in net for net in NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "the NAT64 form of"
    if ip.sixtofour is not None:
        return ip.sixtofour, "the 6to4 form of"
    if ip.teredo is not None:
        return ip.teredo[1], "the Teredo form of"
    if int(ip) >> 32 == 0 and int(ip) > 1:  # ::a.b.c.d, IPv4-compatible (deprecated)
        return ipaddress.IPv4Address(int(ip)), "the IPv4-compatible IPv6 form of"
    return None


def classify(ip: IPAddress) -> Verdict:
    inner = embedded_ipv4(ip)
    if inner is not None:
        verdict = classify(inner[0])
        return Verdict(verdict.kind, verdict.address, inner[1])
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
    if ip in METADATA_ADDRESSES:
        return Verdict(Kind.METADATA, ip)
    for nets, kind in ((THIS_HOST, Kind.THIS_HOST), (LINK_LOCAL, Kind.LINK_LOCAL),
                       (NOT_UNICAST, Kind.NOT_UNICAST), (LOOPBACK, Kind.LOOPBACK),
                       (PRIVATE, Kind.PRIVATE)):
        if any(ip in net for net in nets):
            return Verdict(kind, ip)
    return Verdict(Kind.PUBLIC, ip)


def normal_host(host: str) -> str:
    """Lower case, without IPv6 brackets or the trailing dot of a fully qualified name."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


def literal_address(host: str) -> tuple[IPAddress, str] | None:
    """``host`` as an address if it is written as one, with the form when unusual.

    Returns ``None`` for a host name. Legacy numeric IPv4 forms (one decimal
    number, octal or hexadecimal parts, fewer than four parts) come back with
    ``"the legacy numeric form of"``: the system resolver accepts them, so they
    must be judged as the address they are.
    """
    name = normal_host(host)
    try:
        return ipaddress.ip_address(name), ""
    except ValueError:
        pass
    if name and all(c in "0123456789abcdefx." for c in name) and any(c.isdigit() for c in name):
        try:
            packed = socket.inet_aton(name)
        except OSError:
            return None
        return ipaddress.IPv4Address(packed), "the legacy numeric form of"
    return None


def hostname_kind(host: str) -> Kind | None:
    """What a host name is by its name alone (before DNS), when the name says it."""
    name = normal_host(host)
    if name in METADATA_HOSTNAMES:
        return Kind.METADATA
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return Kind.LOOPBACK
    return None
