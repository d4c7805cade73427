"""Forwarding to SOS Alarm and other receivers that speak SOS Access v4.

A sink (``sink: sos-access``) that sends the alarms Navet holds as SOS Access
v4 telegrams, from reference/alarm-centre-protocols.md §2.2: XML in
ISO-8859-1, one request and one response per TCP connection (optionally TLS),
``<alarmrequest>`` with ``alarmtype`` AL for a new alarm and RE for its
restoral (the resident cancelled it), the SIA event code of the alarm kind,
the alarm's reference, the transmitter's time and, for GPS alarms, the
position in WGS-84. ``<pingrequest>`` heartbeats at the agreed service level
keep the monitored connection alive.

A press Navet folded into an open alarm (the unit raised a new alarm while its
first was open; ``alarm.updated`` with ``data.folded``) has already gone out as
an AL of its own reference when it was raised: at the centre it is a repeat
alarm of the same code and section. The fold itself sends nothing (never a
restoral: issue 12), and when the resident cancels the alarm, the RE goes for
the alarm and for each repeat folded into it, so no repeat stays open there.

Answers: 0 (OK) and 10 (duplicated: the receiver already has it) are
delivered; 5 and 99 mean "use failover": the secondary receiver is tried; 4
(not authorised), 9 and 98 are retried later by the outbox (credentials and
outages get fixed; an alarm must still go); 1, 2, 3, 7 and 100 say the
telegram itself is wrong and are kept as a dead delivery with the reason.
Nothing personal is sent: the transmitter code identifies the resident's
alarm installation, as agreed with the receiver.

Zone and user (contract 1.2): the event's ``location.zone`` (the detector,
pendant or input that raised the alarm: a DC-09 zone, a SCAIP ``did``) goes
in ``<detector>`` as the source sent it, at most 5 characters as SOS Access
allows; a longer zone and the user (SOS Access has no user element) go in
``<additionalinfo>`` lines ``zone …`` / ``user …``. A restoral names the
detector its alarm was raised with.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
from datetime import datetime
from typing import Any, ClassVar
from xml.etree.ElementTree import Element, SubElement, tostring

import defusedxml.ElementTree as safe_et  # type: ignore[import-untyped]  # no stubs
from pydantic import BaseModel, ConfigDict, Field

from gateway import SIA_CODE_FOR_KIND, SIA_RESTORE, Event, OutboundPolicy, TransportError

log = logging.getLogger(__name__)

MAX_TELEGRAM = 100_000
DELIVERED = {0: "OK", 10: "duplicated alarm (the receiver already has it)"}
FAILOVER = {5: "not treated, not distributed", 99: "other error"}
RETRY = {4: "not authorised", 9: "service unavailable", 98: "server error",
         101: "ping too often"}
REFUSED = {1: "invalid length", 2: "invalid XML", 3: "wrong content",
           7: "mandatory data missing", 100: "XML header missing or invalid"}


class Receiver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(ge=1, le=65535)


class SosAccessSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receivers: list[Receiver] = Field(min_length=1, max_length=2,
                                      description="Primary, then the failover receiver.")
    tls: bool = False
    ca_file: str | None = Field(default=None, description="CA to verify the receiver (TLS).")
    authentication: str = Field(min_length=15, max_length=15, repr=False)
    receiver: str = Field(min_length=1, max_length=20, description="Receiver id at SOS.")
    transmitter_type: str = Field(min_length=5, max_length=5)
    transmitter_code: str = Field(min_length=1, max_length=15,
                                  description="Default transmitter code.")
    transmitter_codes: dict[str, str] = Field(
        default_factory=dict,
        description="Resident pseudonym or device id -> its transmitter code at the receiver.")
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    heartbeat_s: float = Field(default=0, ge=0,
                               description="Ping interval; 0 = none. Service levels are "
                               "90000/18000/180/90 s, with 3-6 pings per level interval.")


def wgs84_pos(lat: float, lon: float) -> str:
    """``NDDMMmmEDDDMMmm``: degrees and minutes with two decimals, hemisphere letters."""
    def part(value: float, width: int, pos: str, neg: str) -> str:
        hemi = pos if value >= 0 else neg
        value = abs(value)
        degrees = int(value)
        minutes = round((value - degrees) * 60, 2)
        if minutes >= 60:
            degrees, minutes = degrees + 1, 0.0
        return f"{hemi}{degrees:0{width}d}{int(minutes):02d}{round(minutes % 1 * 100):02d}"

    return part(lat, 2, "N", "S") + part(lon, 3, "E", "W")


class SosAccessSink:
    kind: ClassVar[str] = "sos-access"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.config = SosAccessSettings.model_validate(settings)
        self.clock = services.clock
        self.alarms = getattr(services, "alarms", None)  # to recall an alarm after a restart
        self.outbound = OutboundPolicy.of(services)  # every connection goes through it
        self._kinds: dict[str, str] = {}
        self._where: dict[str, tuple[str | None, str | None]] = {}  # alarm -> (zone, user)
        self._repeats: dict[str, list[str]] = {}  # alarm -> alarms folded into it, sent as AL
        self._pinger: asyncio.Task[None] | None = None
        self.link_up: bool | None = None
        self.last_error: str | None = None
        self.sent = 0

    def destinations(self) -> list[tuple[str, int]]:
        """The receivers (checked by the outbound policy at creation and every connection)."""
        return [(r.host, r.port) for r in self.config.receivers]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.config.heartbeat_s > 0 and self._pinger is None:
            self._pinger = asyncio.create_task(self._heartbeats(), name="sos-access-ping")

    async def aclose(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
            self._pinger = None

    def status(self) -> dict[str, Any]:
        return {"link_up": self.link_up, "last_error": self.last_error, "sent": self.sent}

    async def _heartbeats(self) -> None:
        while True:
            try:
                await self.ping()
            except TransportError as err:
                log.warning("SOS Access heartbeat failed: %s", err)
            await self.clock.sleep(self.config.heartbeat_s)

    # ------------------------------------------------------------------ telegrams

    def _code_for(self, event: Event) -> str:
        for key in (event.resident, event.device.id if event.device else None):
            if key and key in self.config.transmitter_codes:
                return self.config.transmitter_codes[key]
        return self.config.transmitter_code

    def alarm_request(self, event: Event, alarm_type: str, event_code: str,
                      alarm: str | None = None) -> bytes:
        """The telegram for ``event``; ``alarm`` names another alarm's reference (a repeat)."""
        root = Element("alarmrequest")
        c = self.config
        when: datetime = event.time
        about = alarm or event.alarm or event.id
        fields = [
            ("reference", hashlib.sha256(about.encode()).hexdigest()[:20]),
            ("authentication", c.authentication), ("receiver", c.receiver),
            ("transmittertime", when.strftime("%Y-%m-%d %H:%M:%S.") +
             f"{when.microsecond // 1000:03d}"),
            ("alarmtype", alarm_type), ("transmittertype", c.transmitter_type),
            ("transmittercode", self._code_for(event)), ("eventcode", event_code),
        ]
        location = event.location
        if location is not None and location.text:
            fields.append(("sectiontext", location.text[:40]))
        zone, user = self._zone_and_user(event, about)
        info: list[str] = []
        if zone is not None and len(zone) <= 5:
            fields.append(("detector", zone))
        elif zone is not None:
            info.append(f"zone {zone}")
        if user is not None:
            info.append(f"user {user}")
        kind = str(getattr(event.data, "kind", "") or self._kinds.get(event.alarm or "", ""))
        if kind:
            info.insert(0, f"Navet alarm kind {kind}")
        if info:
            fields.append(("additionalinfo", "\n".join(info)[:2000]))
        for name, value in fields:
            SubElement(root, name).text = value
        point = getattr(location, "point", None) if location is not None else None
        if point is not None:
            pos = SubElement(root, "position")
            SubElement(pos, "pos").text = wgs84_pos(point.lat, point.lon)
        return self._xml(root)

    def _zone_and_user(self, event: Event, about: str | None = None,
                       ) -> tuple[str | None, str | None]:
        """The zone and user of the event, or of the alarm it restores (``about``: that
        alarm's id, a press folded into the event's alarm included)."""
        remembered = self._where.get(about or event.alarm or "")
        if remembered is not None and event.type != "alarm.raised":
            return remembered
        location = event.location
        if location is None:
            return None, None
        return getattr(location, "zone", None), getattr(location, "user", None)

    def ping_request(self) -> bytes:
        root = Element("pingrequest")
        c = self.config
        for name, value in (("authentication", c.authentication),
                            ("transmittercode", c.transmitter_code),
                            ("transmittertype", c.transmitter_type)):
            SubElement(root, name).text = value
        return self._xml(root)

    @staticmethod
    def _xml(root: Element) -> bytes:
        body = tostring(root, encoding="unicode")
        text = '<?xml version="1.0" encoding="iso-8859-1"?>\n' + body
        return text.encode("iso-8859-1", errors="replace")

    # ------------------------------------------------------------------ delivery

    async def deliver(self, event: Event) -> None:
        alarm = event.alarm or ""
        if event.type == "alarm.raised":
            kind = str(getattr(event.data, "kind", "other"))
            code = SIA_CODE_FOR_KIND.get(kind, "MA")
            self._kinds[alarm] = kind
            self._where[alarm] = self._zone_and_user(event)
            await self._send(self.alarm_request(event, "AL", code), "alarmresponse")
        elif event.type == "alarm.updated":
            folded = getattr(event.data, "folded", None)
            if folded is not None and folded.alarm in self._kinds:  # it went out as an AL
                self._repeats.setdefault(alarm, []).append(folded.alarm)
        elif event.type == "alarm.cancelled":
            await self._recall(event)
            kind = self._kinds.get(alarm, "other")
            code = SIA_RESTORE.get(SIA_CODE_FOR_KIND.get(kind, "MA"), "MH")
            repeats = self._repeats.get(alarm, [])
            for about in (alarm, *repeats):  # a retry sends them again: answered 10, delivered
                await self._send(self.alarm_request(event, "RE", code, about or None),
                                 "alarmresponse")
            self._forget(alarm)  # after the sends: a retried restoral still has its zone
        elif event.type == "alarm.closed":
            self._forget(alarm)

    def _forget(self, alarm: str) -> None:
        for gone in (alarm, *self._repeats.pop(alarm, [])):
            self._kinds.pop(gone, None)
            self._where.pop(gone, None)

    async def _recall(self, event: Event) -> None:
        """Kind and zone of an alarm this sink forgot (a restart), from the alarm record:
        the restoral must name the same event code and detector as its alarm."""
        alarm = event.alarm or ""
        if self.alarms is None or not alarm or alarm in self._kinds:
            return
        try:
            rec = await self.alarms.alarm(event.tenant, alarm)
        except Exception as err:  # the store is down: send what the event itself says
            log.warning("SOS Access forwarding: alarm %s not readable: %s", alarm, err)
            return
        if rec is not None and rec.kind:
            self._kinds[alarm] = rec.kind
            where = rec.location
            self._where[alarm] = (getattr(where, "zone", None), getattr(where, "user", None))

    async def ping(self) -> int:
        return await self._send(self.ping_request(), "pingresponse")

    async def _send(self, telegram: bytes, expect: str) -> int:
        if len(telegram) > MAX_TELEGRAM:
            raise TransportError(f"telegram of {len(telegram)} bytes exceeds {MAX_TELEGRAM}",
                                 permanent=True)
        problems: list[str] = []
        for receiver in self.config.receivers:
            where = f"{receiver.host}:{receiver.port}"
            try:
                status, info = await self._exchange(receiver, telegram, expect)
            except (OSError, TimeoutError, ValueError, SyntaxError) as err:  # ParseError too
                problems.append(f"{where}: {type(err).__name__} {err}".strip())
                continue
            if status in DELIVERED:
                self.link_up, self.last_error = True, None
                if expect == "alarmresponse":
                    self.sent += 1
                return status
            if status in FAILOVER:
                problems.append(f"{where}: status {status} ({FAILOVER[status]}: {info})")
                continue
            self.link_up = True
            if status in REFUSED:
                raise TransportError(f"SOS Access receiver {where} refused the telegram: "
                                     f"status {status} ({REFUSED[status]}: {info})",
                                     permanent=True)
            raise TransportError(f"SOS Access receiver {where}: status {status} "
                                 f"({RETRY.get(status, 'unknown status')}: {info})")
        self.link_up = False
        self.last_error = "; ".join(problems)[-500:]
        raise TransportError(f"no SOS Access receiver took the telegram: {self.last_error}")

    async def _exchange(self, receiver: Receiver, telegram: bytes,
                        expect: str) -> tuple[int, str]:
        context: ssl.SSLContext | None = None
        if self.config.tls:
            context = ssl.create_default_context(cafile=self.config.ca_file)
        reader, writer = await self.outbound.open_connection(
            receiver.host, receiver.port, ssl=context, timeout=self.config.timeout_s)
        try:
            writer.write(telegram)
            await writer.drain()
            data = b""
            end = f"</{expect}>".encode()
            async with asyncio.timeout(self.config.timeout_s):
                while end not in data:
                    chunk = await reader.read(4096)
                    if not chunk:
                        break
                    data += chunk
                    if len(data) > MAX_TELEGRAM:
                        raise ValueError("answer too long")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        root = safe_et.fromstring(data)
        if root.tag != expect:
            raise ValueError(f"expected <{expect}>, got <{root.tag}>")
        status_text = (root.findtext("status") or "").strip()
        if not status_text.isdigit():
            raise ValueError(f"answer without a numeric <status>: {status_text!r}")
        return int(status_text), (root.findtext("info") or "").strip()
