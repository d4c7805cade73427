"""Forwarding to an existing alarm receiving centre: Navet as a SIA DC-09 transmitter.

A sink (``sink: dc09`` in a subscription) that sends the alarms Navet holds
to a legacy alarm receiver as DC-09 frames, SIA-DCS or ADM-CID (Contact ID),
in clear or AES-encrypted, over TCP or UDP. What it does, from
reference/alarm-centre-protocols.md §2.1:

- every message carries a timestamp; a NAK carries the receiver's time, from
  which the transmitter corrects its clock offset and sends again at once;
- no answer within ``ack_timeout_s``: try again after ``retry_delay_s``
  (DC-09 asks for a retry within 5-60 s), ``attempts`` times per receiver, then
  the backup receiver; when every receiver failed the outbox keeps the event
  and backs off, so nothing is lost while the centre is unreachable;
- DUH (the receiver does not understand the event) is never repeated: the
  delivery is kept as a dead delivery with the reason;
- NULL supervision messages every ``supervision_s`` keep the path proven; the
  link state (up/down, last ACK, last error) is visible in :meth:`status`.

Which events go out is the subscription's ``types`` filter; of those, the
alarm kinds and technical conditions below have a SIA code (and Contact ID
equivalent). Anything else is accepted and not sent (there is nothing in
DC-03 to say it with). The account is per resident or device when configured,
else the subscription's default account. Only codes, zones and, for GPS
alarms, the position travel: no names, no personal data.

Zone and user come from the event's typed ``location.zone`` / ``location.user``
(contract 1.2), as the source sent them: SIA-DCS ``N[id<user>/]<code><zone>``
(zone digits unchanged, ``012`` stays ``012``), Contact ID ``QEEE GG CCC`` with
the zone in ``CCC`` (three digits, so ``7`` goes as ``007``). A restoral carries
the zone and user its alarm was raised with. Only when the event has no zone,
or one the format cannot carry (letters, too long), is zone ``001`` sent.

A press Navet folded into an open alarm (``alarm.updated`` with ``data.folded``)
went out as a new event of the same code and zone when it was raised: at the
centre it is a repeat alarm of that zone. The fold itself sends nothing (issue
12: never a restoral for a fold); a restoral goes only for what the device or
the resident ended: the alarm, or one folded press of its own (a zone restored).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway import SIA_CODE_FOR_KIND, SIA_RESTORE, Event, OutboundPolicy, TransportError

from .crypto import KEY_SIZES, seal, unseal
from .frame import Dc09Error, clear_content, encode_frame, parse_frame, parse_timestamp

log = logging.getLogger(__name__)

FALLBACK_ZONE = "001"
"""Sent when an event has no zone the format can carry (receivers expect one)."""

_SIA_ZONE = re.compile(r"^[0-9]{1,6}$")
_CID_ZONE = re.compile(r"^[0-9]{1,3}$")
_SIA_USER = re.compile(r"^[0-9]{1,6}$")

CID_FOR_SIA: dict[str, str] = {"QA": "101", "MA": "100", "WA": "113", "FA": "110",
                               "AT": "301", "YT": "302", "YC": "350", "YX": "380"}
"""SIA code -> Contact ID event code (qualifier 1 new, 3 restore)."""


class Receiver(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str
    port: int = Field(ge=1, le=65535)


class Dc09ForwardSettings(BaseModel):
    """Settings of one ``dc09`` subscription (one upstream alarm receiving centre)."""

    model_config = ConfigDict(extra="forbid")

    receivers: list[Receiver] = Field(min_length=1, description="Primary first, then backups.")
    transport: Literal["tcp", "udp"] = "tcp"
    format: Literal["SIA-DCS", "ADM-CID"] = "SIA-DCS"
    account: str = Field(pattern=r"^[0-9A-Fa-f]{3,16}$",
                         description="Default account (#acct) for events.")
    accounts: dict[str, str] = Field(
        default_factory=dict,
        description="Resident pseudonym or device id -> the account the centre knows it by.")
    key: str | None = Field(default=None, repr=False, description="AES key; None sends clear.")
    key_encoding: Literal["hex", "ascii"] = "hex"
    receiver_number: str | None = Field(
        default="0", pattern=r"^[0-9A-Fa-f]{1,6}$",
        description="R field. Optional in DC-09, but some receivers echo a missing one "
        "badly in their ACK (pysiaalarm answers 'NoneL0'), so it is sent by default.")
    line: str = Field(default="0", pattern=r"^[0-9A-Fa-f]{1,6}$")
    ack_timeout_s: float = Field(default=10.0, gt=0, le=60)
    retry_delay_s: float = Field(default=5.0, ge=0, le=60,
                                 description="Wait before repeating an unanswered message.")
    attempts: int = Field(default=2, ge=1, le=10, description="Tries per receiver.")
    supervision_s: float = Field(default=0, ge=0,
                                 description="NULL supervision interval; 0 sends none.")

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: dict[str, str]) -> dict[str, str]:
        for who, acct in value.items():
            if not acct or len(acct) > 16 or any(c not in "0123456789abcdefABCDEF" for c in acct):
                raise ValueError(f"account {acct!r} for {who!r} must be 3-16 hex digits")
        return value

    def key_bytes(self) -> bytes | None:
        if self.key is None:
            return None
        raw = self.key.encode() if self.key_encoding == "ascii" else bytes.fromhex(self.key)
        if len(raw) not in KEY_SIZES:
            raise ValueError(f"AES key must be 16, 24 or 32 bytes, got {len(raw)}")
        return raw


class _Link:
    """One connection to one receiver; one exchange at a time."""

    def __init__(self, receiver: Receiver, transport: str, outbound: OutboundPolicy) -> None:
        self.receiver = receiver
        self.transport = transport
        self.outbound = outbound  # every connection goes through the gateway's policy
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._answers: asyncio.Queue[bytes] = asyncio.Queue()

    @property
    def name(self) -> str:
        return f"{self.receiver.host}:{self.receiver.port}/{self.transport}"

    async def exchange(self, frame: bytes, timeout: float) -> bytes:
        """Send ``frame``; return the answer frame. Raises OSError/TimeoutError."""
        if self.transport == "udp":
            return await self._udp_exchange(frame, timeout)
        if self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await self.outbound.open_connection(
                self.receiver.host, self.receiver.port, timeout=timeout)
        assert self._reader is not None and self._writer is not None
        try:
            self._writer.write(frame)
            await self._writer.drain()
            answer = await asyncio.wait_for(self._reader.readuntil(b"\r"), timeout)
        except (OSError, TimeoutError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            await self.close()  # a half-read stream cannot be trusted for the next answer
            raise
        return answer

    async def _udp_exchange(self, frame: bytes, timeout: float) -> bytes:
        if self._udp is None:
            queue = self._answers

            class _Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: Any) -> None:
                    queue.put_nowait(data)

            self._udp, _ = await self.outbound.datagram_endpoint(
                _Proto, self.receiver.host, self.receiver.port, timeout=timeout)
        while not self._answers.empty():  # late answers to an earlier try
            self._answers.get_nowait()
        self._udp.sendto(frame)
        return await asyncio.wait_for(self._answers.get(), timeout)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        self._reader = self._writer = None
        if self._udp is not None:
            self._udp.close()
            self._udp = None


class Dc09ForwardSink:
    """Sends alarms to a legacy alarm receiving centre over SIA DC-09."""

    kind: ClassVar[str] = "dc09"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.config = Dc09ForwardSettings.model_validate(settings)
        self.key = self.config.key_bytes()
        self.clock = services.clock
        self.alarms = getattr(services, "alarms", None)  # to recall an alarm after a restart
        subscription = getattr(services, "subscription", None)
        self.name = getattr(subscription, "id", "dc09")
        self.outbound = OutboundPolicy.of(services)
        self.links = [_Link(r, self.config.transport, self.outbound)
                      for r in self.config.receivers]
        self.offset = timedelta(0)  # receiver time - our time, learnt from NAKs
        self._seq = itertools.cycle(range(1, 10000))
        self._lock = asyncio.Lock()  # one message in flight: answers match by order
        # alarm id -> (SIA code, zone, user) it was raised with: its restoral says the same
        self._kinds: dict[str, tuple[str, str | None, str | None]] = {}
        self._repeats: dict[str, list[str]] = {}  # alarm id -> alarms folded into it
        self._poller: asyncio.Task[None] | None = None
        self.link_up: bool | None = None
        self.last_ack: datetime | None = None
        self.last_error: str | None = None
        self.sent = 0

    def destinations(self) -> list[tuple[str, int]]:
        """The receivers (checked by the outbound policy at creation and every connection)."""
        return [(r.host, r.port) for r in self.config.receivers]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self.config.supervision_s > 0 and self._poller is None:
            self._poller = asyncio.create_task(self._supervise(), name=f"dc09-null-{self.name}")

    async def aclose(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for link in self.links:
            await link.close()

    def status(self) -> dict[str, Any]:
        return {"link_up": self.link_up, "last_ack": self.last_ack.isoformat()
                if self.last_ack else None, "last_error": self.last_error,
                "clock_offset_s": self.offset.total_seconds(), "sent": self.sent}

    async def _supervise(self) -> None:
        while True:
            try:
                await self._send("NULL", self.config.account, None)
            except TransportError as err:
                log.warning("DC-09 supervision of %s failed: %s", self.name, err)
            await self.clock.sleep(self.config.supervision_s)

    # ------------------------------------------------------------------ events

    def message_for(self, event: Event) -> tuple[str, str] | None:
        """``(account, data)`` for ``event``, or None when DC-03/05 cannot say it."""
        raised: str | None = None  # the SIA code the alarm was raised with
        restore = False
        zone, user = self._where(event)
        if event.type == "alarm.raised":
            raised = SIA_CODE_FOR_KIND.get(str(getattr(event.data, "kind", "other")), "MA")
            if event.alarm:
                self._kinds[event.alarm] = (raised, zone, user)
        elif event.type == "alarm.cancelled":
            raised, zone, user = self._kinds.pop(event.alarm or "", ("MA", zone, user))
            restore = True
            self._forget_repeats(event.alarm or "")
        elif event.type == "alarm.updated":
            folded = getattr(event.data, "folded", None)
            if folded is not None and event.alarm:  # sent already, as a repeat: nothing now
                self._repeats.setdefault(event.alarm, []).append(folded.alarm)
        elif event.type == "alarm.closed":
            self._kinds.pop(event.alarm or "", None)
            self._forget_repeats(event.alarm or "")
        if raised is None:
            return None
        account = self._account(event)
        if self.config.format == "ADM-CID":  # Contact ID: the same event code, qualifier 3
            cid = CID_FOR_SIA.get(raised, "100")
            ccc = zone.zfill(3) if zone and _CID_ZONE.match(zone) else \
                self._fallback(event, zone, "Contact ID")
            return account, f"#{account}|{3 if restore else 1}{cid} 01 {ccc}"
        code = SIA_RESTORE.get(raised, "MH") if restore else raised
        where = zone if zone and _SIA_ZONE.match(zone) else self._fallback(event, zone, "SIA")
        who = f"id{user}/" if user and _SIA_USER.match(user) else ""
        return account, f"#{account}|N{who}{code}{where}"

    def _forget_repeats(self, alarm: str) -> None:
        for repeat in self._repeats.pop(alarm, []):
            self._kinds.pop(repeat, None)

    def _account(self, event: Event) -> str:
        for key in (event.resident, event.device.id if event.device else None):
            if key and key in self.config.accounts:
                return self.config.accounts[key].upper()
        return self.config.account.upper()

    @staticmethod
    def _where(event: Event) -> tuple[str | None, str | None]:
        """The event's typed zone and user, as the source sent them (None when absent)."""
        location = event.location
        if location is None:
            return None, None
        return getattr(location, "zone", None), getattr(location, "user", None)

    @staticmethod
    def _fallback(event: Event, zone: str | None, fmt: str) -> str:
        if zone:
            log.warning("DC-09 forwarding of %s: zone %r cannot be carried in %s; sent as %s",
                        event.id, zone, fmt, FALLBACK_ZONE)
        return FALLBACK_ZONE

    @staticmethod
    def _xdata(event: Event) -> tuple[str, ...]:
        point = getattr(event.location, "point", None) if event.location else None
        if point is None:
            return ()
        return (f"X{point.lon:.6f}", f"Y{point.lat:.6f}")

    async def _recall(self, event: Event) -> None:
        """What an alarm was raised with, from the alarm record, when this sink forgot it.

        The sink's memory is per process: after a restart a restoral would otherwise go
        out as ``MH`` zone ``001``, which the centre cannot match to the alarm it ends.
        """
        if self.alarms is None or not event.alarm or event.alarm in self._kinds:
            return
        try:
            rec = await self.alarms.alarm(event.tenant, event.alarm)
        except Exception as err:  # the store is down: send what the event itself says
            log.warning("DC-09 forwarding: alarm %s not readable: %s", event.alarm, err)
            return
        if rec is not None and rec.kind:
            where = rec.location
            self._kinds[event.alarm] = (SIA_CODE_FOR_KIND.get(rec.kind, "MA"),
                                        getattr(where, "zone", None),
                                        getattr(where, "user", None))

    async def deliver(self, event: Event) -> None:
        if event.type == "alarm.cancelled":
            await self._recall(event)
        message = self.message_for(event)
        if message is None:
            return  # nothing DC-09 can carry; the subscription's types decide what comes
        account, data = message
        await self._send(self.config.format, account, data, self._xdata(event), event.id)

    # ------------------------------------------------------------------ wire

    def _frame(self, token: str, account: str, data: str | None,
               xdata: tuple[str, ...], seq: int) -> bytes:
        now = self.clock.now() + self.offset
        content = clear_content(data or "", xdata, now)
        if self.key is not None:
            content = seal(self.key, content, has_data=data is not None)
        return encode_frame(token, seq, line=self.config.line, account=account,
                            content=content, receiver=self.config.receiver_number,
                            encrypted=self.key is not None)

    async def _send(self, token: str, account: str, data: str | None,
                    xdata: tuple[str, ...] = (), ref: str = "NULL") -> None:
        async with self._lock:
            seq = next(self._seq)
            failures: list[str] = []
            for link in self.links:
                for attempt in range(self.config.attempts):
                    if attempt:
                        await self.clock.sleep(self.config.retry_delay_s)
                    frame = self._frame(token, account, data, xdata, seq)
                    try:
                        raw = await link.exchange(frame, self.config.ack_timeout_s)
                    except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
                        failures.append(f"{link.name}: {type(err).__name__} {err}".strip())
                        continue
                    verdict = self._verdict(raw, seq, account)
                    if verdict == "ACK":
                        self.sent += 1
                        self.link_up, self.last_ack, self.last_error = True, \
                            self.clock.now(), None
                        return
                    if verdict == "DUH":
                        self.link_up = True
                        raise TransportError(
                            f"receiver {link.name} answered DUH to {ref} ({data!r}): it does not "
                            "understand the event; not repeated", permanent=True)
                    if verdict == "NAK":  # clock corrected from the NAK: send again now
                        frame = self._frame(token, account, data, xdata, seq)
                        try:
                            raw = await link.exchange(frame, self.config.ack_timeout_s)
                        except (OSError, TimeoutError, asyncio.IncompleteReadError) as err:
                            failures.append(f"{link.name}: {type(err).__name__}")
                            continue
                        if self._verdict(raw, seq, account) == "ACK":
                            self.sent += 1
                            self.link_up, self.last_ack, self.last_error = True, \
                                self.clock.now(), None
                            return
                    failures.append(f"{link.name}: answered {verdict}")
            self.link_up = False
            self.last_error = "; ".join(failures)[-500:]
            raise TransportError(f"no DC-09 receiver acknowledged {ref}: {self.last_error}")

    def _verdict(self, raw: bytes, seq: int, account: str) -> str:
        """ACK, NAK (clock offset updated), DUH, or a description of a bad answer."""
        try:
            frame = parse_frame(raw)
        except Dc09Error as err:
            return f"garbled answer ({err.reason})"
        if frame.token == "NAK":
            stamp = frame.content.split("]", 1)[-1].lstrip("_")[:19]
            try:
                theirs = parse_timestamp(stamp)
            except (Dc09Error, ValueError):
                return "NAK without a usable timestamp"
            self.offset = theirs - self.clock.now()
            log.info("DC-09 receiver clock differs by %.1f s; corrected",
                     self.offset.total_seconds())
            return "NAK"
        if frame.token == "DUH":
            return "DUH"
        if frame.token != "ACK":
            return f"unexpected {frame.token}"
        if int(frame.seq) != seq:
            return f"ACK for sequence {frame.seq}, not {seq:04d}"
        if frame.account and frame.account.upper() != account.upper():
            return f"ACK for account {frame.account}, not {account}"
        if frame.encrypted and self.key is not None:
            try:
                unseal(self.key, frame.content)
            except Dc09Error as err:
                return f"encrypted ACK does not decrypt ({err.reason})"
        return "ACK"
