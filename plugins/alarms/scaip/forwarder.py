"""Forwarding to an upstream SCAIP receiver: Navet as a SCAIP sender (SS 91100).

A sink (``sink: scaip`` in a subscription) that passes the alarms Navet holds
on to an alarm receiving centre that speaks SCAIP, exactly as a unit would:
a SIP MESSAGE with ``application/scaip+xml`` per alarm (digest-authenticated
when the receiver challenges), the ``<mrs>`` read from the 200 OK body or
from the separate MESSAGE the receiver sends back (TR 91102 §7.5).

HOLD: while the upstream centre answers ``snu=4``, the same ``<mrq>`` is sent
again every ``hold_interval_s`` (SS 91100: 5-20 s), in the background, so
delivery of other alarms goes on. When it answers ``snu=0`` a person at the
centre has the alarm: the sink acknowledges the alarm in Navet on the
centre's behalf, which is what turns the originating SCAIP unit's own HOLD
into ``snu=0`` (the device learns that someone has its alarm). If the centre
keeps holding past ``hold_max_s``, the sink sends ``mty=RE`` (the sender gives
up) and notes it on the alarm. A cancel by the resident is forwarded as the
cancel status (``stc=19``) in the same session.

Zone (contract 1.2): the alarm's ``location.zone`` (a DC-09 zone, a SCAIP
unit's ``did``, a Zigbee endpoint) goes as ``<did>``, the device that raised
it, exactly as the source sent it; a SCAIP location code (``location.code``
``scaip-lco:NNN``) goes as ``<lco>``. SCAIP has no user element; a user goes
in ``<dte>`` as ``user <n>``. Every poll, the cancel and the RE of an alarm
carry what its first ``<mrq>`` carried.

A press Navet folded into an open alarm (``alarm.updated`` with
``data.folded``) went upstream in a session of its own when it was raised: a
repeat of the same alarm code, which the centre may fold in turn. The fold
sends nothing; no cancel ever goes for it (issue 12). Its session is answered
like the alarm's: when the centre takes either, the alarm is acknowledged here
(the folded id resolves to the alarm), polling stops for both, and the
resident's cancel is sent in both sessions.

Delivery is at least once: a MESSAGE the receiver never answered raises
``TransportError`` and the outbox tries again (the same ``ref``, so the
receiver sees a repeat, not a second alarm).

SIP: each MESSAGE is a request outside any dialog (RFC 3428), so each gets
its own Call-ID, From tag, CSeq 1 and branch; a receiver (SIPp is one) that
saw the same Call-ID again would take it for a call it has finished. Only a
retry with digest credentials keeps the Call-ID and tag and counts CSeq up
(RFC 3261 §8.1.3.5), and REGISTERs share one Call-ID (§10.2). Every request
is a client transaction with the RFC 3261 timers (:mod:`.transaction`):
over UDP sent again from T1 = 0.5 s doubling to T2 = 4 s, given up after
Timer F = 32 s; over TCP sent once, Timer F still applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway import Actor, Clock, Event, OutboundPolicy, SystemClock, TransportError

from . import sip
from .const import CONTENT_TYPE, MAX_SIP_BYTES, SNU_HOLD, SNU_OK
from .models import Mrs
from .transaction import ClientTransaction, Timers
from .xml import ScaipFormatError, parse_mrs

log = logging.getLogger(__name__)

CODES_FOR_KIND: dict[str, tuple[int, int | None]] = {
    "personal_button": (3, 10),     # personal trigger, alarm (manual)
    "fall": (5, 9),                 # fall detector, alarm (automatic)
    "passive.bed_exit": (12, 9),
    "passive.chair_exit": (44, 9),
    "passive.door_at_night": (14, 9),
    "passive.no_activity": (10, 9),
    "passive.water_leak": (33, 9),
    "passive.other": (49, 9),       # monitoring device
    "gps.geofence_exit": (51, 9),   # tracking device
    "gps.panic_outside": (51, 10),
    "medication.missed_dose": (11, 81),  # pill dispenser, pill not taken
    "technical.low_battery": (2, 16),
    "technical.mains_lost": (2, 85),
    "technical.link_lost": (32, 23),
    "technical.unit_silent": (32, 123),  # radio test transmission missing
    "technical.other": (2, 105),    # trouble
    "other": (2, 9),
}
"""Contract alarm kind -> (dty device type, stc status) as SS 91100 codes them."""

CANCEL_STC = 19
LCO_PREFIX = "scaip-lco:"
"""How the SCAIP receiver writes a unit's ``lco`` in ``location.code``."""


class ScaipForwardSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(description="The upstream SCAIP receiver.")
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Literal["udp", "tcp"] = "udp"
    user: str = Field(default="navet", pattern=r"^[A-Za-z0-9._-]{1,64}$",
                      description="Our SIP user at the receiver (its 'unit').")
    password: str | None = Field(default=None, repr=False)
    domain: str | None = Field(default=None, description="SIP domain; default: host.")
    registers: bool = Field(default=True, description="REGISTER before the first MESSAGE.")
    cid: str = Field(default="0", pattern=r"^[0-9A-Za-z]{1,16}$",
                     description="Caller id <cid> the centre knows Navet by.")
    local_host: str = "127.0.0.1"
    hold_interval_s: float = Field(default=10.0, ge=5, le=20)
    hold_max_s: float = Field(default=180.0, ge=10, le=1800)
    timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="How long to wait for a TCP connection, and "
        "for the <mrs> after the 200 OK. The SIP transaction itself ends at Timer F (32 s).")
    target_user: str = Field(default="alarm", pattern=r"^[A-Za-z0-9._-]{1,64}$",
                             description="User part of the receiver's SIP URI.")
    centre: str = Field(default="upstream", max_length=64,
                        description="Who acknowledges on the centre's behalf (actor id).")


def mrq_ref(alarm: str) -> str:
    """A SCAIP ref for a Navet alarm: short, letters and digits, the same on every retry."""
    return hashlib.sha256(alarm.encode()).hexdigest()[:12].upper()


@dataclass
class _CallLeg:
    """Call-ID, From tag and CSeq shared by the requests that must share them."""

    call_id: str = field(default_factory=lambda: secrets.token_hex(8) + "@navet")
    tag: str = field(default_factory=sip.new_tag)
    cseq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


class _SipClient:
    """Just enough of a SIP UA client: requests with digest retry, <mrs> MESSAGEs in."""

    def __init__(self, cfg: ScaipForwardSettings, outbound: OutboundPolicy,
                 clock: Clock | None = None, timers: Timers | None = None) -> None:
        self.cfg = cfg
        self.outbound = outbound  # every connection goes through the gateway's policy
        self.clock: Clock = clock or SystemClock()
        self.timers = timers or Timers()
        self.domain = cfg.domain or cfg.host
        self.registration = _CallLeg()  # RFC 3261 §10.2: one Call-ID for all REGISTERs
        self.tag = sip.new_tag()  # our To tag when we answer the receiver's requests
        self._pending: dict[str, ClientTransaction] = {}  # Via branch -> our transaction
        self.mrs: dict[str, asyncio.Queue[Mrs]] = {}
        self._udp: asyncio.DatagramTransport | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self.local: tuple[str, int] = (cfg.local_host, 0)
        self._auth: dict[str, str] | None = None
        self._nc = 0

    async def connect(self) -> None:
        if self._udp is not None or (self._writer is not None and not self._writer.is_closing()):
            return
        if self.cfg.transport == "udp":
            client = self

            class _Proto(asyncio.DatagramProtocol):
                def datagram_received(self, data: bytes, addr: Any) -> None:
                    client._received(data)

            self._udp, _ = await self.outbound.datagram_endpoint(
                _Proto, self.cfg.host, self.cfg.port, local_host=self.cfg.local_host,
                timeout=self.cfg.timeout_s)
            self.local = self._udp.get_extra_info("sockname")[:2]
        else:
            reader, self._writer = await self.outbound.open_connection(
                self.cfg.host, self.cfg.port, timeout=self.cfg.timeout_s)
            self.local = self._writer.get_extra_info("sockname")[:2]
            self._reader_task = asyncio.create_task(self._read_tcp(reader))

    async def _read_tcp(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        try:
            while chunk := await reader.read(65536):
                buffer += chunk
                while True:
                    msg, buffer = sip.frame_stream(buffer, MAX_SIP_BYTES)
                    if msg is None:
                        break
                    self._received(msg)
        except (OSError, sip.SipError) as err:
            log.warning("SCAIP upstream %s:%s: %s", self.cfg.host, self.cfg.port, err)
        finally:
            if self._writer is not None:
                self._writer.close()

    def _send(self, data: bytes) -> None:
        if self._udp is not None:
            self._udp.sendto(data)
        elif self._writer is not None:
            self._writer.write(data)
        else:
            raise TransportError("SCAIP upstream is not connected")

    def _received(self, data: bytes) -> None:
        try:
            msg = sip.parse(data)
        except sip.SipError as err:
            log.warning("unreadable SIP from SCAIP upstream: %s", err)
            return
        if not msg.is_request:
            tx = self._pending.get(sip.param(msg.get("Via"), "branch") or "")
            if tx is not None:
                tx.receive(msg)
            return
        if msg.method == "MESSAGE":  # the receiver's <mrs> for one of our requests
            self._send(sip.response(msg, 200, to_tag=self.tag).encode())
            self._deliver_mrs(msg.body)
        elif msg.method in ("OPTIONS", "NOTIFY"):
            self._send(sip.response(msg, 200, to_tag=self.tag).encode())
        else:
            self._send(sip.response(msg, 405).encode())

    def _deliver_mrs(self, body: bytes) -> None:
        if not body.strip():
            return
        try:
            mrs = parse_mrs(body)
        except ScaipFormatError as err:
            log.warning("unreadable <mrs> from SCAIP upstream: %s", err.reason)
            return
        self.mrs.setdefault(mrs.ref, asyncio.Queue()).put_nowait(mrs)

    def _request(self, method: str, body: bytes, extra: list[tuple[str, str]],
                 leg: _CallLeg) -> tuple[sip.SipMessage, str]:
        branch = sip.new_branch()  # a new transaction every time, a retry too
        uri = f"sip:{self.domain}" if method == "REGISTER" else \
            f"sip:{self.cfg.target_user}@{self.domain}"
        me = f"sip:{self.cfg.user}@{self.domain}"
        transport = self.cfg.transport.upper()
        req = sip.SipMessage(method=method, uri=uri, headers=[
            ("Via", f"SIP/2.0/{transport} {self.local[0]}:{self.local[1]};branch={branch};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{me}>;tag={leg.tag}"),
            ("To", f"<{me if method == 'REGISTER' else uri}>"),
            ("Call-ID", leg.call_id),
            ("CSeq", f"{next(leg.cseq)} {method}"),
            ("Contact", f"<sip:{self.cfg.user}@{self.local[0]}:{self.local[1]};"
                        f"transport={self.cfg.transport}>"),
            *extra,
        ], body=body)
        if body:
            req.headers.append(("Content-Type", CONTENT_TYPE))
        if self._auth is not None and self.cfg.password is not None:
            req.headers.append(self._authorization(method, uri))
        return req, branch

    def _authorization(self, method: str, uri: str) -> tuple[str, str]:
        assert self._auth is not None and self.cfg.password is not None
        self._nc += 1
        nc, cnonce = f"{self._nc:08x}", secrets.token_hex(8)
        qop = "auth" if "auth" in (self._auth.get("qop") or "").split(",") else None
        resp = sip.digest_response(
            username=self.cfg.user, password=self.cfg.password, realm=self._auth["realm"],
            method=method, uri=uri, nonce=self._auth["nonce"], qop=qop, nc=nc, cnonce=cnonce)
        value = (f'Digest username="{self.cfg.user}", realm="{self._auth["realm"]}", '
                 f'nonce="{self._auth["nonce"]}", uri="{uri}", response="{resp}", '
                 'algorithm=MD5')
        if qop:
            value += f", qop={qop}, nc={nc}, cnonce=\"{cnonce}\""
        header = "Proxy-Authorization" if self._auth.get("proxy") else "Authorization"
        return header, value

    async def request(self, method: str, body: bytes = b"",
                      extra: list[tuple[str, str]] | None = None) -> sip.SipMessage:
        """Send a request (retransmitted over UDP) and return its final response.

        A MESSAGE starts a new Call-ID and From tag (it is outside any dialog);
        REGISTERs share one. A 401/407 digest challenge is answered once with
        credentials, in the same Call-ID with the next CSeq.
        """
        await self.connect()
        leg = self.registration if method == "REGISTER" else _CallLeg()
        for _ in range(2):
            req, branch = self._request(method, body, extra or [], leg)
            resp = await self._transact(req, branch)
            if resp.status in (401, 407) and self.cfg.password is not None:
                challenge = resp.get("WWW-Authenticate" if resp.status == 401
                                     else "Proxy-Authenticate")
                params = sip.auth_params(challenge)
                if "nonce" not in params or "realm" not in params:
                    return resp
                params["proxy"] = "1" if resp.status == 407 else ""
                self._auth = params
                continue
            return resp
        return resp

    async def _transact(self, req: sip.SipMessage, branch: str) -> sip.SipMessage:
        tx = ClientTransaction(branch, reliable=self._udp is None, clock=self.clock,
                               timers=self.timers)
        self._pending[branch] = tx
        data = req.encode()
        try:
            resp = await tx.run(lambda: self._send(data))
        finally:
            self._pending.pop(branch, None)
        if resp is None:
            raise TransportError(
                f"SCAIP upstream {self.cfg.host}:{self.cfg.port} did not answer {req.method} "
                f"within Timer F ({self.timers.timer_f:g} s)")
        return resp

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = None
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None


class ScaipForwardSink:
    """Sends alarms to an upstream SCAIP receiver and brings its acknowledgement back."""

    kind: ClassVar[str] = "scaip"

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.config = ScaipForwardSettings.model_validate(settings)
        self.clock = services.clock
        self.alarms = getattr(services, "alarms", None)
        self.client = _SipClient(self.config, OutboundPolicy.of(services), self.clock)
        self._registered = False
        self._holding: dict[str, asyncio.Task[None]] = {}
        self._kinds: dict[str, tuple[int, int | None]] = {}
        self._where: dict[str, str] = {}  # mrq ref -> <did>/<lco>/<dte> of its alarm
        self._repeats: dict[str, list[str]] = {}  # alarm -> alarms folded into it, sent up
        self.taken: list[str] = []  # alarms the centre took (snu=0), for status and tests
        self.given_up: list[str] = []
        self.last_error: str | None = None

    def destinations(self) -> list[tuple[str, int]]:
        """The upstream receiver (checked by the outbound policy at creation and every
        connection)."""
        return [(self.config.host, self.config.port)]

    def status(self) -> dict[str, Any]:
        return {"holding": sorted(self._holding), "taken": len(self.taken),
                "given_up": len(self.given_up), "last_error": self.last_error}

    async def aclose(self) -> None:
        for task in list(self._holding.values()):
            task.cancel()
        for task in list(self._holding.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._holding.clear()
        await self.client.close()

    # ------------------------------------------------------------------ delivery

    def mrq(self, ref: str, dty: int, stc: int | None, mty: str | None = None) -> bytes:
        parts = [f"<ref>{ref}</ref>"]
        if mty:
            parts.append(f"<mty>{mty}</mty>")
        parts += [f"<cid>{self.config.cid}</cid>", f"<dty>{dty:04d}</dty>"]
        if stc is not None:
            parts.append(f"<stc>{stc:04d}</stc>")
        parts.append(self._where.get(ref, ""))
        return ("<mrq>" + "".join(parts) + "</mrq>").encode("ascii")

    @staticmethod
    def where(event: Event | Any) -> str:
        """``<did>``, ``<lco>`` and ``<dte>`` elements for the zone, location and user of an
        event (or an alarm record: anything with a ``location``)."""
        location = event.location
        if location is None:
            return ""
        out = ""
        zone, user = getattr(location, "zone", None), getattr(location, "user", None)
        if zone:  # letters and digits only (the contract's pattern): safe in XML as it is
            out += f"<did>{zone}</did>"
        code = location.code or ""
        if code.startswith(LCO_PREFIX) and code[len(LCO_PREFIX):].isdigit():
            out += f"<lco>{int(code[len(LCO_PREFIX):]) % 1000:03d}</lco>"
        if user:
            out += f"<dte>user {user}</dte>"
        return out

    async def deliver(self, event: Event) -> None:
        alarm = event.alarm
        if not alarm:
            return
        if event.type == "alarm.raised":
            kind = str(getattr(event.data, "kind", "other"))
            dty, stc = CODES_FOR_KIND.get(kind, CODES_FOR_KIND["other"])
            self._kinds[alarm] = (dty, stc)
            self._where[mrq_ref(alarm)] = self.where(event)
            await self._raise(event, alarm, dty, stc)
        elif event.type == "alarm.updated":
            folded = getattr(event.data, "folded", None)
            if folded is not None and folded.alarm in self._kinds:  # its session is upstream
                self._repeats.setdefault(alarm, []).append(folded.alarm)
        elif event.type == "alarm.cancelled":
            await self._recall(event, alarm)
            dty, _ = self._kinds.get(alarm, CODES_FOR_KIND["other"])
            for about in (alarm, *self._repeats.get(alarm, [])):
                self._stop_holding(about)
                await self._exchange(mrq_ref(about), self.mrq(mrq_ref(about), dty, CANCEL_STC))
            self._forget(alarm)  # after the sends: a retried cancel still carries its zone
        elif event.type in ("alarm.acknowledged", "alarm.closed"):
            # Someone has it here; stop asking the centre (it keeps its own sessions).
            for about in (alarm, *self._repeats.get(alarm, [])):
                self._stop_holding(about)
            if event.type == "alarm.closed":
                self._forget(alarm)

    def _forget(self, alarm: str) -> None:
        for gone in (alarm, *self._repeats.pop(alarm, [])):
            self._kinds.pop(gone, None)
            self._where.pop(mrq_ref(gone), None)

    async def _recall(self, event: Event, alarm: str) -> None:
        """Device type and zone of an alarm this sink forgot (a restart), from the alarm
        record: the cancel goes in the alarm's session with what its <mrq> carried."""
        if self.alarms is None or alarm in self._kinds:
            return
        try:
            rec = await self.alarms.alarm(event.tenant, alarm)
        except Exception as err:  # the store is down: send what the event itself says
            log.warning("SCAIP forwarding: alarm %s not readable: %s", alarm, err)
            return
        if rec is not None and rec.kind:
            self._kinds[alarm] = CODES_FOR_KIND.get(rec.kind, CODES_FOR_KIND["other"])
            self._where.setdefault(mrq_ref(alarm), self.where(rec))

    async def _register(self) -> None:
        if self._registered or not self.config.registers:
            return
        resp = await self.client.request("REGISTER", extra=[("Expires", "3600")])
        if resp.status != 200:
            raise TransportError(f"SCAIP upstream refused REGISTER: {resp.status} {resp.reason}")
        self._registered = True

    async def _exchange(self, ref: str, body: bytes) -> Mrs:
        """One MESSAGE and its <mrs> (from the 200 OK body or the separate MESSAGE)."""
        try:
            await self._register()
            queue = self.client.mrs.setdefault(ref, asyncio.Queue())
            resp = await self.client.request("MESSAGE", body)
        except (OSError, TransportError) as err:
            self.last_error = str(err)
            raise TransportError(str(err)) from err
        if resp.status in (401, 403, 407):
            self.last_error = f"refused: {resp.status}"
            raise TransportError(f"SCAIP upstream refused our credentials ({resp.status})")
        if resp.status != 200:
            self.last_error = f"{resp.status} {resp.reason}"
            raise TransportError(f"SCAIP upstream answered {resp.status} {resp.reason}")
        if resp.body.strip():
            self.client._deliver_mrs(resp.body)
        try:
            mrs = await asyncio.wait_for(queue.get(), self.config.timeout_s)
        except TimeoutError:
            self.last_error = f"no <mrs> for {ref}"
            raise TransportError(f"SCAIP upstream sent no <mrs> for ref {ref}") from None
        while not queue.empty():  # the same answer in the 200 OK and as a MESSAGE
            mrs = queue.get_nowait()
        return mrs

    async def _raise(self, event: Event, alarm: str, dty: int, stc: int | None) -> None:
        ref = mrq_ref(alarm)
        mrs = await self._exchange(ref, self.mrq(ref, dty, stc))
        if mrs.snu == SNU_OK:
            await self._taken(event.tenant, alarm)
        elif mrs.snu == SNU_HOLD:
            self._stop_holding(alarm)
            self._holding[alarm] = asyncio.create_task(
                self._hold(event.tenant, alarm, ref, dty, stc), name=f"scaip-hold-{ref}")
        else:
            raise TransportError(
                f"SCAIP upstream refused alarm {alarm}: snu={mrs.snu} {mrs.ste or ''}".strip(),
                permanent=True)

    async def _hold(self, tenant: str, alarm: str, ref: str, dty: int,
                    stc: int | None) -> None:
        """Poll while the centre holds: the same <mrq> every hold_interval_s."""
        started = self.clock.now()
        try:
            while True:
                await self.clock.sleep(self.config.hold_interval_s)
                held_for = (self.clock.now() - started).total_seconds()
                if held_for + self.config.hold_interval_s > self.config.hold_max_s:
                    with contextlib.suppress(TransportError):
                        await self._exchange(ref, self.mrq(ref, dty, None, mty="RE"))
                    self.given_up.append(alarm)
                    log.warning("SCAIP upstream held alarm %s for %.0f s; gave up (RE)",
                                alarm, held_for)
                    return
                try:
                    mrs = await self._exchange(ref, self.mrq(ref, dty, stc))
                except TransportError as err:
                    log.warning("SCAIP upstream poll for %s failed: %s", alarm, err)
                    continue
                if mrs.snu == SNU_OK:
                    # Polling is over. Leave _holding first: the acknowledgement below comes
                    # back to this sink as alarm.acknowledged, which stops (cancels) holders.
                    if self._holding.get(alarm) is asyncio.current_task():
                        del self._holding[alarm]
                    await self._taken(tenant, alarm)
                    return
        finally:
            if self._holding.get(alarm) is asyncio.current_task():
                del self._holding[alarm]

    async def _taken(self, tenant: str, alarm: str) -> None:
        """The centre has the alarm: acknowledge it here on the centre's behalf."""
        try:
            if self.alarms is not None:
                await self.alarms.acknowledge(
                    tenant, alarm, Actor(kind="operator", id=self.config.centre,
                                         name="upstream alarm receiving centre (SCAIP)"))
        except Exception as err:  # already acknowledged here, or closed: nothing to do
            log.info("alarm %s taken upstream; not acknowledged here: %s", alarm, err)
        self.taken.append(alarm)  # after the acknowledgement, so status never runs ahead

    def _stop_holding(self, alarm: str) -> None:
        task = self._holding.pop(alarm, None)
        if task is not None:
            task.cancel()
