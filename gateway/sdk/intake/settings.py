"""Listener options every socket-owning adapter shares (``listener:`` in its settings)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, field_validator

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ProxyProtocolSettings(BaseModel):
    """Read HAProxy's PROXY protocol (v1 text or v2 binary) from trusted load balancers."""

    model_config = ConfigDict(extra="forbid")

    trusted: list[str] = Field(
        min_length=1,
        description="Addresses or networks (CIDR) of the load balancers in front of this "
        "listener. A connection from one of them must start with a PROXY header, and the "
        "address in it is the client's; a PROXY header from anyone else is refused.",
        examples=[["10.0.0.5", "10.0.1.0/28"]],
    )

    @field_validator("trusted")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as err:
                raise ValueError(f"proxy_protocol.trusted: {item!r} is not an address or "
                                 f"network: {err}") from None
        return value

    def networks(self) -> list[Network]:
        return [ipaddress.ip_network(item, strict=False) for item in self.trusted]


class ListenerSettings(BaseModel):
    """How a protocol listener protects itself: admission, fair intake, refusal reports.

    Defaults fit a receiver on the open internet; see docs/security.md (listener exhaustion,
    UDP flood, garbage frames) for what each one stops.
    """

    model_config = ConfigDict(extra="forbid")

    first_frame_timeout_s: float = Field(
        default=10.0, gt=0,
        description="A new TCP/TLS connection must prove itself within this many seconds "
        "(DC-09: a valid frame from a configured account; SCAIP: an authenticated request) "
        "or it is closed. Separate from the idle timeout of a proven connection.")
    max_unproven_per_source: int = Field(
        default=16, ge=1,
        description="Connections one source address may hold before they are proven. A new "
        "one past this closes that address's oldest unproven connection, so a flood cannot "
        "keep diallers behind the same carrier NAT out. Proven connections do not count.")
    udp_queue_per_source: int = Field(
        default=32, ge=1, le=4096,
        description="Datagrams waiting per source address; more from that address are "
        "dropped (and counted) while others keep their turn.")
    udp_queue_total: int = Field(
        default=2048, ge=1,
        description="Datagrams waiting in all; when full, the longest queue loses its oldest.")
    udp_workers: int = Field(
        default=8, ge=1, le=256,
        description="Datagrams handled at once, taken round-robin by source address.")
    udp_receive_buffer_bytes: int | None = Field(
        default=4 * 1024 * 1024, ge=4096,
        description="Socket receive buffer asked of the kernel (capped by "
        "net.core.rmem_max): room for a burst while the queues above take it. None: the "
        "system default.")
    proxy_protocol: ProxyProtocolSettings | None = Field(
        default=None,
        description="Set when the listener sits behind a TCP load balancer that sends the "
        "PROXY protocol; applies to TCP and TLS, not UDP.")
    report_interval_s: float = Field(
        default=60.0, gt=0,
        description="Refusals are counted always; the first per source and reason in each "
        "interval is logged and kept as a dead-letter sample, the rest summed up in one log "
        "line per interval.")
    max_samples_per_interval: int = Field(
        default=20, ge=0,
        description="Dead-letter samples of refused input per listener and interval, whatever "
        "the number of sources (a spoofed flood cannot fill the store).")
