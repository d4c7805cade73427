"""The receiver's SIP user agent: registrar, digest authentication, SCAIP sessions.

One MESSAGE in is handled as SS 91100 and TR 91102 describe:

1. read the ``<mrq>``; 2. hand the raw body to the gateway (``host.ingest``)
and answer 200 OK only once it is durable (500 if it is not, so the unit
sends again); 3. send the ``<mrs>`` as a separate MESSAGE to the unit's
registered contact (TR 91102 §7.5), optionally also in the 200 OK body.

Where that MESSAGE goes (:meth:`ScaipUserAgent._mrs_route`): the Contact the
unit registered, or the Contact of its MESSAGE when it does not register; a
unit marked ``symmetric`` (behind NAT) gets it at the address and port its
requests come from. Over TCP/TLS the unit's own open connection is used first.
Responses go where RFC 3261 §18.2.2 / RFC 3581 say (the listener's ``respond``).

Alarms are answered HOLD (snu=4) until the gateway's alarm lifecycle says a
person has the alarm (``host.alarm_status``), then snu=0; the unit polls by
resending the same ``<mrq>`` every 5-20 s, which dedups to the same events.

A unit that sends a new alarm ref while its first alarm is open has the new
alarm folded into the first by the core (a repeat, ``alarm.updated`` with
``data.folded``). Every ref is answered from the state of the alarm it belongs
to, so both stay on HOLD until a person has that alarm, and only the ref whose
alarm is not folded asks for the voice call (the unit would place one per
ref). A cancel from the unit cancels the alarm its open ref belongs to.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway import AdapterHost, AlarmStatus, RawFrame

from . import sip
from .addressing import Destination, uri_destination
from .const import (
    ADAPTER,
    CONTENT_TYPE,
    FINISHED_STATES,
    HANDLED_STATES,
    SESSION_TTL_S,
    SNU_HOLD,
    SNU_OK,
    SNU_WRONG_CONTENT,
)
from .listener import Peer, SipListener, TlsConfig
from .mapping import Nature, alarm_id, nature
from .models import Mrq, Mrs, ScaipSettings, UnitSettings
from .voice import voice_reply
from .xml import ParsedRequests, ScaipFormatError, build_mrs, parse_mrq

log = logging.getLogger(__name__)

_DEDUP_S = 32.0  # RFC 3261 64*T1: how long a UDP retransmission of a request may arrive


@dataclass
class Binding:
    """Where a registered unit receives requests: its Contact, and where it registered from."""

    contact: str
    source: Destination  # where the REGISTER came from: over TCP/TLS, the unit's connection
    expires: datetime


@dataclass
class Session:
    """One SCAIP message session: a ref of a unit, until it is answered and forgotten."""

    stamp: str
    alarm: str
    nature: Nature
    last: datetime


class ScaipUserAgent:
    def __init__(self, config: ScaipSettings, host: AdapterHost, tenant: str,
                 instance: str, parsed: ParsedRequests | None = None) -> None:
        self.config = config
        self.parsed = parsed if parsed is not None else ParsedRequests()
        """Requests parsed here, for the adapter's decode of the same frame."""
        self.host = host
        self.tenant = tenant
        self.instance = instance
        self.listener = SipListener(
            self.handle, host=config.host, port=config.port, transports=config.transports,
            read_timeout_s=config.read_timeout_s,
            idle_timeout_s=float(config.registration_max_s),
            tls=TlsConfig(config.tls_cert, config.tls_key, config.tls_client_ca,
                          config.tls_require_client_cert)
            if config.tls_cert is not None and config.tls_key is not None else None,
            tls_port=config.tls_port, clock=host.clock,
            host_services=host, listener=config.listener,
            max_connections=config.max_connections,
        )
        self.nonces = sip.NonceKeeper(config.nonce_ttl_s)
        self.bindings: dict[str, Binding] = {}
        self.sessions: dict[tuple[str, str], Session] = {}
        self.open_alarm: dict[str, str] = {}
        self._answered: dict[tuple[str, str, str], tuple[float, bytes | None]] = {}
        self._tag = sip.new_tag()

    async def start(self) -> None:
        await self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()

    # ------------------------------------------------------------------ dispatch

    async def handle(self, req: sip.SipMessage, peer: Peer) -> None:
        key = (req.get("Call-ID"), req.get("CSeq"), sip.param(req.get("From"), "tag") or "")
        loop_now = _loop_time()
        self._answered = {k: v for k, v in self._answered.items() if loop_now - v[0] < _DEDUP_S}
        symmetric = self._symmetric(req)
        if key in self._answered:  # a retransmission: same answer, no second ingest
            cached = self._answered[key][1]
            if cached is not None:
                self.listener.respond(req, peer, cached, symmetric=symmetric)
            return
        self._answered[key] = (loop_now, None)
        try:
            resp = await self._dispatch(req, peer)
        except Exception:
            log.exception("SCAIP request %s from %s:%s failed", req.method, peer.host, peer.port)
            resp = sip.response(req, 500, to_tag=self._tag)
        data = resp.encode()
        self._answered[key] = (loop_now, data)
        self.listener.respond(req, peer, data, symmetric=symmetric)

    def _symmetric(self, req: sip.SipMessage) -> bool:
        """Whether the request's unit is configured as behind NAT (answered at its source)."""
        aor = sip.uri_of(req.get("To" if req.method == "REGISTER" else "From"))
        settings = self.config.units.get(sip.user_of(aor)[:64])
        return settings is not None and settings.symmetric

    async def _dispatch(self, req: sip.SipMessage, peer: Peer) -> sip.SipMessage:
        method = req.method
        if method == "OPTIONS":
            return sip.response(req, 200, to_tag=self._tag,
                                extra=[("Allow", "REGISTER, MESSAGE, OPTIONS")])
        if method not in ("REGISTER", "MESSAGE"):
            return sip.response(req, 405, to_tag=self._tag,
                                extra=[("Allow", "REGISTER, MESSAGE, OPTIONS")])
        aor = sip.uri_of(req.get("To" if method == "REGISTER" else "From"))
        unit = sip.user_of(aor)[:64]
        if not unit:
            return sip.response(req, 400, to_tag=self._tag)
        settings = self.config.units.get(unit)
        if settings is None and not (self.config.allow_unknown_units
                                     and not self.config.require_auth):
            log.warning("SCAIP %s from unknown unit %r at %s:%s", method, unit, peer.host,
                        peer.port)
            return sip.response(req, 404, to_tag=self._tag)
        settings = settings or UnitSettings()
        denied = self._authenticate(req, unit, settings)
        if denied is not None:
            return denied
        peer.prove()  # authenticated: the listener lifts its limits for this connection
        if method == "REGISTER":
            return self._register(req, peer, unit)
        return await self._message(req, peer, unit, aor, settings)

    def _authenticate(self, req: sip.SipMessage, unit: str,
                      settings: UnitSettings) -> sip.SipMessage | None:
        """None if the request may proceed, else the 401/403 to answer with."""
        if settings.password is None:
            if self.config.require_auth:
                return sip.response(req, 403, to_tag=self._tag)
            return None
        now = self.host.clock.now().timestamp()
        params = sip.auth_params(req.get("Authorization"))
        stale = False
        if params:
            state = self.nonces.check(params.get("nonce", ""), now)
            passwords = [settings.password, *([settings.next_password]
                                               if settings.next_password else [])]
            if params.get("username") == unit and state == "ok" and any(
                    sip.verify(params, method=req.method, password=pw, realm=self.config.realm)
                    for pw in passwords):
                return None
            stale = state == "stale"
        challenge = sip.challenge(self.config.realm, self.nonces.issue(now), stale)
        return sip.response(req, 401, to_tag=self._tag, extra=[("WWW-Authenticate", challenge)])

    def _register(self, req: sip.SipMessage, peer: Peer, unit: str) -> sip.SipMessage:
        contact = req.get("Contact")
        expires_text = sip.param(contact, "expires") or req.get("Expires") or "3600"
        expires = min(int(expires_text) if expires_text.isdigit() else 3600,
                      self.config.registration_max_s)
        if expires == 0 or contact.strip() == "*":
            self.bindings.pop(unit, None)
            return sip.response(req, 200, to_tag=self._tag)
        uri = sip.uri_of(contact) if contact else f"sip:{unit}@{peer.host}:{peer.port}"
        self.bindings[unit] = Binding(uri, peer.source,
                                      self.host.clock.now() + timedelta(seconds=expires))
        log.info("SCAIP unit %s registered at %s via %s", unit, uri, peer.transport)
        return sip.response(req, 200, to_tag=self._tag,
                            extra=[("Contact", f"<{uri}>;expires={expires}")])

    # ------------------------------------------------------------------ MESSAGE

    async def _message(self, req: sip.SipMessage, peer: Peer, unit: str, aor: str,
                       settings: UnitSettings) -> sip.SipMessage:
        ctype = req.get("Content-Type").split(";")[0].strip().lower()
        if ctype != CONTENT_TYPE:
            return sip.response(req, 415, to_tag=self._tag, extra=[("Accept", CONTENT_TYPE)])
        now = self.host.clock.now()
        self._expire(now)
        mrq: Mrq | None = None
        snu_error: ScaipFormatError | None = None
        try:
            mrq = parse_mrq(req.body, limit=self.config.max_xml_bytes)
        except ScaipFormatError as err:
            snu_error = err
        else:
            self.parsed.keep(req.body, mrq)  # decode takes it: parsed once per MESSAGE
        meta = {"call_id": req.get("Call-ID"), "peer": f"{peer.transport}:{peer.host}:"
                f"{peer.port}", "instance": self.instance}
        session = None
        if mrq is not None:
            session = await self._session(unit, mrq, now)
            meta["session"] = session.stamp
            if session.nature is Nature.CANCEL and unit in self.open_alarm:
                status = await self._alarm_status(self.open_alarm[unit])
                meta["open_alarm"] = status.alarm if status is not None \
                    else self.open_alarm[unit]
            if mrq.mty == "PI" and mrq.hbo == 1 and settings.hbi:
                meta["heartbeat_s"] = str(settings.hbi * 60)
        frame = RawFrame(adapter=ADAPTER, tenant=self.tenant, transport=f"sip-{peer.transport}",
                         address=aor, payload=req.body, received=now, meta=meta,
                         instance=self.instance)
        result = await self.host.ingest(frame)  # raises if not stored -> 500, unit resends
        mrs: Mrs | None
        if mrq is None:
            assert snu_error is not None
            mrs = Mrs(snu_error.ref, snu_error.snu, ste=snu_error.reason[:128]) \
                if snu_error.ref else None
        elif result.dead_letter is not None:
            mrs = Mrs(mrq.ref, SNU_WRONG_CONTENT, ste=(result.reason or "")[:128])
        else:
            assert session is not None
            mrs = await self._answer(unit, mrq, session, settings)
        body = build_mrs(mrs) if mrs is not None else b""
        if body:
            self.listener.spawn(self._send_mrs(unit, aor, req, peer, settings, body))
        if body and settings.mrs_in_200:
            return sip.response(req, 200, to_tag=self._tag, body=body, content_type=CONTENT_TYPE)
        return sip.response(req, 200, to_tag=self._tag)

    async def _session(self, unit: str, mrq: Mrq, now: datetime) -> Session:
        kind = nature(mrq)
        if kind is Nature.HEARTBEAT:  # every heartbeat counts, even with a reused ref
            return Session(now.strftime("%Y%m%dT%H%M%S.%fZ"), "", kind, now)
        key = (unit, mrq.ref)
        found = self.sessions.get(key)
        if found is not None:
            found.last = now
            return found
        stamp = ""
        if kind in (Nature.ALARM, Nature.TECHNICAL):
            # A unit that restarts may count refs from 1 again. If this ref's alarm is
            # already over, this is a new alarm: give it its own id, never swallow it.
            state = await self._alarm_state(alarm_id(unit, mrq.ref))
            if state in FINISHED_STATES:
                stamp = now.strftime("%Y%m%dT%H%M%SZ")
        session = Session(stamp, alarm_id(unit, mrq.ref, stamp), kind, now)
        self.sessions[key] = session
        if kind in (Nature.ALARM, Nature.TECHNICAL):
            self.open_alarm[unit] = session.alarm
        return session

    async def _alarm_state(self, alarm: str) -> str | None:
        """The alarm's lifecycle state; a host without the service never holds (None)."""
        status = await self._alarm_status(alarm)
        return status.state if status is not None else None

    async def _alarm_status(self, alarm: str) -> AlarmStatus | None:
        """The alarm ``alarm`` belongs to and its state (None: unknown, or a host without
        the service, which never holds). Hosts before contract 1.2 only have
        ``alarm_state``: no folds there."""
        lookup = getattr(self.host, "alarm_status", None)
        if lookup is not None:
            found: AlarmStatus | None = await lookup(alarm)
            return found
        legacy = getattr(self.host, "alarm_state", None)
        state = await legacy(alarm) if legacy is not None else None
        return AlarmStatus(alarm, state) if state is not None else None

    def _expire(self, now: datetime) -> None:
        horizon = now - timedelta(seconds=SESSION_TTL_S)
        self.sessions = {k: s for k, s in self.sessions.items() if s.last >= horizon}
        self.bindings = {u: b for u, b in self.bindings.items() if b.expires > now}

    async def _answer(self, unit: str, mrq: Mrq, session: Session,
                      settings: UnitSettings) -> Mrs:
        kind = session.nature
        holds = self.config.hold and (
            kind is Nature.ALARM or (kind is Nature.TECHNICAL and self.config.hold_technical))
        if holds and mrq.mty == "ME":
            # Every ref is answered from the alarm it belongs to: a ref folded into the
            # unit's open alarm is held exactly as long as that alarm (issue 12).
            status = await self._alarm_status(session.alarm)
            if status is not None and status.state not in HANDLED_STATES:
                return Mrs(mrq.ref, SNU_HOLD)
            return Mrs(mrq.ref, SNU_OK, **self._voice(mrq, settings, status))
        if kind is Nature.ALARM and mrq.mty == "ME":  # not held: answered at once, voice too
            status = await self._alarm_status(session.alarm)
            return Mrs(mrq.ref, SNU_OK, **self._voice(mrq, settings, status))
        if kind is Nature.CANCEL:
            self.open_alarm.pop(unit, None)
        hbi = settings.hbi if mrq.mty == "PI" and mrq.hbo == 1 else None
        return Mrs(mrq.ref, SNU_OK, hbi=hbi)

    @staticmethod
    def _voice(mrq: Mrq, settings: UnitSettings,
               status: AlarmStatus | None) -> dict[str, Any]:
        """Voice-call fields, only for the ref whose alarm is not a fold: one call per alarm."""
        if status is not None and status.folded:
            return {}
        return voice_reply(mrq, settings)

    def _mrs_route(self, unit: str, aor: str, req: sip.SipMessage, peer: Peer,
                   settings: UnitSettings) -> tuple[str, Destination]:
        """The Request-URI of the ``<mrs>`` MESSAGE and where it is sent.

        TR 91102 §7.5: to the registered contact; a unit that does not register
        (§7.11), or whose binding was lost at a restart, at the Contact of its
        request. ``symmetric`` (behind NAT): to where this request came from (the
        freshest NAT mapping), since its Contact names an address only valid
        behind the NAT. Over TCP/TLS a connection the unit opened and still holds
        goes first (RFC 5923 connection reuse): a unit behind NAT cannot accept a
        new one.
        """
        binding = self.bindings.get(unit)
        if binding is not None:
            contact: str | None = binding.contact
        else:
            header = req.get("Contact").strip()
            contact = sip.uri_of(header) if header and header != "*" else None
        uri = contact or aor
        for flow in (peer.source, *([binding.source] if binding is not None else [])):
            if self.listener.has_flow(flow):
                return uri, flow
        if contact is None or settings.symmetric:
            return uri, peer.source  # no Contact at all: where it came from is all we know
        try:
            return uri, uri_destination(contact, default_transport=peer.transport)
        except sip.SipError as err:
            log.warning("SCAIP unit %s: unusable Contact (%s); <mrs> to %s:%s", unit, err,
                        peer.host, peer.port)
            return uri, peer.source

    async def _send_mrs(self, unit: str, aor: str, req: sip.SipMessage, peer: Peer,
                        settings: UnitSettings, body: bytes) -> None:
        target, dest = self._mrs_route(unit, aor, req, peer, settings)
        local_host, _ = sip.host_port(req.uri)
        local_port = self.listener.ports.get(dest.transport, 0)
        msg = sip.SipMessage(method="MESSAGE", uri=target)
        msg.headers = [
            ("Via", f"SIP/2.0/{dest.transport.upper()} {local_host}:{local_port};"
                    f"branch={sip.new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:{self.config.server_name}@{local_host}>;tag={sip.new_tag()}"),
            ("To", f"<{aor}>"),
            ("Call-ID", f"{sip.new_tag()}{sip.new_tag()}@{local_host}"),
            ("CSeq", "1 MESSAGE"),
            ("Content-Type", CONTENT_TYPE),
        ]
        msg.body = body
        resp = await self.listener.request(msg, dest)
        if resp is None or resp.status >= 300:
            log.warning("SCAIP unit %s did not take the <mrs> at %s %s:%s (%s)", unit,
                        dest.transport, dest.host, dest.port,
                        resp.status if resp is not None else "no answer within Timer F")


def _loop_time() -> float:
    return asyncio.get_running_loop().time()
