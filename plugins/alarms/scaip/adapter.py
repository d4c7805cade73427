"""The SCAIP receiver adapter: social alarm units (SS 91100) over SIP.

``decode`` is pure: it reads the ``<mrq>`` body of one frame and maps it to
contract v1 events (see :mod:`.mapping`); a body the user agent already parsed
is taken from :class:`.xml.ParsedRequests`, not parsed twice. ``start`` opens the
SIP listener (:mod:`.listener`) and the user agent (:mod:`.ua`) that authenticates units,
stores each request through ``host.ingest`` before acknowledging it and
answers with ``<mrs>``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from gateway import (
    AdapterBase,
    AdapterHost,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    PayloadError,
    RawFrame,
)

from .const import ADAPTER
from .mapping import to_events, unit_of
from .models import ScaipSettings
from .ua import ScaipUserAgent
from .xml import ParsedRequests, parse_mrq


class ScaipAdapter(AdapterBase):
    """Receive SCAIP requests from social alarm units and answer them."""

    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor="Any SCAIP (SS 91100 / CLC/TS 50134-9) social alarm unit",
        description="Social alarms over SIP MESSAGE (SCAIP): alarms, HOLD, heartbeats, "
                    "technical alarms",
        device_kinds=(DeviceKind.SOCIAL_ALARM, DeviceKind.PASSIVE_SENSOR),
        transports=("sip-udp", "sip-tcp", "sip-tls"),
        contract=">=1.0,<2",
        permissions=("listen:sip",),
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = ScaipSettings.model_validate(self.settings)
        self.ua: ScaipUserAgent | None = None
        self.parsed = ParsedRequests()
        """What the user agent parsed of a MESSAGE, so decode does not parse it again."""

    @property
    def ports(self) -> dict[str, int]:
        """The ports actually listened on, per transport (useful with port 0)."""
        return dict(self.ua.listener.ports) if self.ua is not None else {}

    def listening(self) -> list[tuple[str, int]]:
        """The SIP listener's sockets: the outbound policy never sends anything to them."""
        if self.ua is None:
            return []
        return [(self.ua.listener.host, port) for port in self.ua.listener.ports.values()]

    async def start(self, host: AdapterHost) -> None:
        self.ua = ScaipUserAgent(self.config, host, getattr(host, "tenant", ""),
                                 getattr(host, "instance_id", ""), self.parsed)
        await self.ua.start()

    async def stop(self) -> None:
        if self.ua is not None:
            await self.ua.stop()
            self.ua = None

    def decode(self, frame: RawFrame) -> list[Event]:
        unit = unit_of(frame.address)
        mrq = self.parsed.take(frame.payload)  # the user agent parsed it already
        try:
            if mrq is None:  # a replay, a test, or a body that did not parse
                mrq = parse_mrq(frame.payload, limit=self.config.max_xml_bytes)
        except PayloadError as err:
            raise PayloadError(err.reason, adapter=ADAPTER, device=unit) from err
        try:
            return to_events(mrq, frame, self.config.vendor)
        except ContractError as err:
            raise PayloadError(str(err), adapter=ADAPTER, device=unit) from err
