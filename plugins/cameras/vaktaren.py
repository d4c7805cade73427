"""Vaktaren: camera units driven over MQTT, one topic tree per site.

Navet publishes session commands to ``<base>/<unit>/cmd`` and waits for the
unit's answer on ``<base>/<unit>/ack``. For a start, Navet mints a single-use
viewing token and hands it to the unit with the command; the unit admits one
viewer presenting it at Vaktaren's stream relay (``<relay_url>/<unit>?t=<token>``)
within ``token_ttl_s``. The units report on ``<base>/<unit>/event``: session
start and end (with duration), privacy state (``off``/``covered`` outside
sessions, ``live`` inside), faults and a periodic ``alive``. The wire format is
in ``contracts/vendors/vaktaren.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from gateway import (
    AdapterBase,
    AdapterHost,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    MqttMessage,
    PayloadError,
    RawFrame,
    TransportError,
    device_id,
)

from . import normalise as n
from .const import COMMANDS, START, STOP, VAKTAREN, VAKTAREN_PROTOCOL, VAKTAREN_VENDOR
from .models import CameraCommand, StartResult, VaktarenSettings, command_arg, command_max_s

log = logging.getLogger(__name__)

END_REASONS = {"cmd": "stopped", "max": "max_length", "link": "camera_lost"}
"""A unit's ``end`` -> Navet's reason, when the stop command gave none."""

FAULT_KINDS = {"power": "mains_lost", "net": "link_lost", "hw": "hardware"}

PRIVACY_STATES = frozenset({"off", "covered", "live"})


class VaktarenAdapter(AdapterBase):
    """Vaktaren camera units over MQTT: commands down, acknowledgements and events up."""

    manifest: ClassVar[Manifest] = Manifest(
        name=VAKTAREN,
        vendor="Vaktaren Kamera AB (fictional vendor; MQTT units)",
        description="Night supervision camera units over MQTT (commands, privacy reports)",
        device_kinds=(DeviceKind.CAMERA,),
        transports=("mqtt",),
        contract=">=1.1,<2",
        commands=COMMANDS,
        version="0.1.0",
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = VaktarenSettings.model_validate(self.settings)
        self.base = self.config.base_topic.rstrip("/")
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = VAKTAREN
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    @property
    def navet_url(self) -> str | None:
        """Navet's own HTTP base URL, as far as this adapter knows it (for simulators)."""
        return getattr(self._host, "public_url", None)

    # ------------------------------------------------------------------ I/O

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "") or VAKTAREN
        mqtt = host.mqtt()
        await mqtt.subscribe(f"{self.base}/+/event", self._on_event, qos=self.config.qos)
        await mqtt.subscribe(f"{self.base}/+/ack", self._on_ack, qos=self.config.qos)

    async def stop(self) -> None:
        for fut in self._pending.values():
            fut.cancel()
        self._pending.clear()

    async def _on_event(self, msg: MqttMessage) -> None:
        assert self._host is not None
        frame = RawFrame(
            adapter=VAKTAREN, tenant=self._tenant, transport="mqtt", address=msg.topic,
            payload=msg.payload, received=self._host.clock.now(), instance=self._instance,
            meta={"base_topic": self.base},
        )
        await self._host.ingest(frame)  # raises if not stored: the message is not acked

    async def _on_ack(self, msg: MqttMessage) -> None:
        try:
            body = json.loads(msg.payload)
            fut = self._pending.get(str(body.get("req")))
        except (ValueError, AttributeError, RecursionError):
            log.warning("%s: unreadable ack on %s", self._instance, msg.topic)
            return
        if fut is not None and not fut.done():
            fut.set_result(body)

    # ------------------------------------------------------------------ commands

    async def execute(self, command: CameraCommand) -> StartResult | None:
        """Send a start or stop to the unit and wait for its acknowledgement.

        :raises TransportError: the unit refused or did not answer in time, with why.
        """
        assert self._host is not None
        if command.name == START:
            token = secrets.token_urlsafe(24)
            session = command_arg(command, "session")
            await self._command(command, {"op": "start", "session": session,
                                          "viewer": command.requested_by.id,
                                          "max_s": command_max_s(command), "token": token,
                                          "token_ttl_s": self.config.token_ttl_s})
            url = f"{str(self.config.relay_url).rstrip('/')}/{command.address}?t={token}"
            return StartResult(url=url, vendor_session=session, expires=(
                self._host.clock.now() + timedelta(seconds=self.config.token_ttl_s)))
        if command.name == STOP:
            await self._command(command, {"op": "stop", "session": command_arg(command, "session"),
                                          "why": command_arg(command, "reason")},
                                tolerate=("no_session",))
            return None
        raise TransportError(f"{self._instance}: unknown command {command.name!r}")

    async def _command(self, command: CameraCommand, body: dict[str, Any],
                       tolerate: tuple[str, ...] = ()) -> dict[str, Any]:
        assert self._host is not None
        req = uuid.uuid4().hex
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[req] = fut
        topic = f"{self.base}/{command.address}/cmd"
        try:
            # never retained: a token must not wait on the broker for the next subscriber
            await self._host.mqtt().publish(topic, json.dumps({"req": req, **body}),
                                            qos=self.config.qos, retain=False)
            ack = await self._wait(fut)
        finally:
            self._pending.pop(req, None)
        if ack is None:
            raise TransportError(f"{self._instance}: unit {command.address} did not acknowledge "
                                 f"{body['op']} within {self.config.ack_timeout_s:g}s")
        if ack.get("ok") is not True and ack.get("error") not in tolerate:
            raise TransportError(f"{self._instance}: unit {command.address} refused "
                                 f"{body['op']}: {str(ack.get('error') or 'no reason')[:100]}",
                                 permanent=True)
        return ack

    async def _wait(self, fut: asyncio.Future[dict[str, Any]]) -> dict[str, Any] | None:
        """The ack, or None after ``ack_timeout_s`` on the gateway's clock."""
        assert self._host is not None
        timer = asyncio.ensure_future(self._host.clock.sleep(self.config.ack_timeout_s))
        try:
            await asyncio.wait([fut, timer], return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        return fut.result() if fut.done() and not fut.cancelled() else None

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        base = frame.meta.get("base_topic", self.base)
        parts = frame.address[len(base) + 1:].split("/") \
            if frame.address.startswith(base + "/") else []
        if len(parts) != 2 or not parts[0] or parts[1] != "event":
            raise PayloadError(f"topic {frame.address!r} is not {base}/<unit>/event",
                               adapter=VAKTAREN)
        unit = parts[0]
        try:
            body: Any = frame.json()
        except ValueError as err:
            raise PayloadError(f"payload is not JSON: {err}", adapter=VAKTAREN,
                               device=unit) from err
        if not isinstance(body, dict):
            raise PayloadError("payload must be a JSON object", adapter=VAKTAREN, device=unit)
        try:
            seq, ts = body.get("seq"), body.get("ts")
            if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
                raise ValueError(f"seq must be a non-negative integer, got {seq!r}")
            if isinstance(ts, bool) or not isinstance(ts, int):
                raise ValueError(f"ts must be epoch milliseconds, got {ts!r}")
            when = datetime.fromtimestamp(ts / 1000, UTC)
            c = n.Common(frame.tenant, when,
                         n.camera(device_id(VAKTAREN, unit), VAKTAREN_VENDOR, unit),
                         {"adapter": VAKTAREN, "protocol": VAKTAREN_PROTOCOL,
                          "ref": f"{unit}:{ts}:{seq}"})
            return self._events(body.get("ev"), c, body)
        except (KeyError, TypeError, ValueError, OverflowError, OSError, ContractError) as err:
            why = f"{err.args[0]} is missing or unknown" if isinstance(err, KeyError) else err
            raise PayloadError(f"{body.get('ev')!r} report: {why}", adapter=VAKTAREN,
                               device=unit) from err

    def _events(self, ev: Any, c: n.Common, body: dict[str, Any]) -> list[Event]:
        if ev == "session_start":
            return [n.started(c, session=_session(body), viewer=_viewer(body),
                              max_s=_seconds(body, "max_s", optional=True))]
        if ev == "session_end":
            reason = n.end_reason(body.get("why"), str(body["end"]), END_REASONS)
            return [n.ended(c, session=_session(body), duration_s=_number(body, "dur_s"),
                            reason=reason)]
        if ev == "privacy":
            state = body.get("state")
            if state not in PRIVACY_STATES:
                raise ValueError(f"state must be off, covered or live, got {state!r}")
            session = body.get("session")
            return [n.privacy(c, state=str(state),
                              session=session if isinstance(session, str) else None)]
        if ev == "alive":
            return [n.heartbeat(c, interval_s=_seconds(body, "every_s", optional=True))]
        if ev == "fault":
            active = body.get("active")
            if not isinstance(active, bool):
                raise ValueError(f"active must be true or false, got {active!r}")
            code = body.get("code")
            text = body.get("text")
            return [n.fault(c, kind=FAULT_KINDS.get(str(body.get("cat")), "other"),
                            active=active, code=None if code is None else str(code)[:64],
                            text=None if text is None else str(text)[:500])]
        raise ValueError(f"unknown report ev {ev!r}")


def _session(body: dict[str, Any]) -> str:
    session = body.get("session")
    if not isinstance(session, str) or not session:
        raise ValueError(f"session must be non-empty text, got {session!r}")
    return session[:128]


def _viewer(body: dict[str, Any]) -> str:
    viewer = body.get("viewer")
    return viewer[:128] if isinstance(viewer, str) and viewer else "unknown"


def _seconds(body: dict[str, Any], key: str, *, optional: bool = False) -> int | None:
    value = body.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 86_400:
        raise ValueError(f"{key} must be a whole number of seconds, got {value!r}")
    return value


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 86_400:
        raise ValueError(f"{key} must be a number of seconds, got {value!r}")
    return float(value)

