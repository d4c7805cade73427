"""Låsbro: a bridge on site speaks MQTT for its locks.

Topics under ``base_topic`` (default ``lasbro``)::

    <base>/<bridge>/status           "online" / "offline" (retained; offline is the bridge's
                                     last will), the bridge's link to Navet
    <base>/<bridge>/<lock>/event     JSON, one per happening at the lock
    <base>/<bridge>/<lock>/cmd       Navet -> bridge: {"id", "op": "unlock"|"lock", "uid", "ts"}
    <base>/<bridge>/<lock>/result    bridge -> Navet: {"id", "ok", "err"?, "msg"?}

``execute`` publishes the command and waits (on the host clock) for its
result; the happening itself (``unlock`` with ``src: remote``) comes as an
event like any other. A bridge that is offline fails a command at once; one
that does not answer in ``command_timeout_s`` fails it then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import ValidationError

from gateway import (
    AdapterBase,
    AdapterHost,
    Command,
    CommandResult,
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

from ..const import COMMANDS
from ..normalise import DoorHappening, events_for, link_events
from .const import ADAPTER, DENY_CODES, EVENTS, OPS, PROTOCOL, SOURCES, VENDOR
from .models import CommandResultMsg, LasbroSettings, LockEvent

log = logging.getLogger(__name__)


class LasbroAdapter(AdapterBase):
    """Låsbro locks behind an MQTT bridge."""

    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor=VENDOR,
        description="Door locks via a Låsbro MQTT bridge (events, command/result topics)",
        device_kinds=(DeviceKind.DOOR_LOCK, DeviceKind.OTHER),
        transports=("mqtt",),
        contract=">=1.0,<2",
        commands=COMMANDS,
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = LasbroSettings.model_validate(self.settings)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""
        self._bridge_of: dict[str, str] = {}  # lock -> bridge it last reported through
        self.bridges: dict[str, str] = {}  # bridge -> "online" / "offline"
        self._pending: dict[str, asyncio.Future[CommandResultMsg]] = {}

    # ------------------------------------------------------------------ I/O

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "")
        mqtt = host.mqtt()
        base = self.config.base_topic
        await mqtt.subscribe(f"{base}/+/status", self._on_status, qos=self.config.qos)
        await mqtt.subscribe(f"{base}/+/+/event", self._on_event, qos=self.config.qos)
        await mqtt.subscribe(f"{base}/+/+/result", self._on_result, qos=self.config.qos)

    async def stop(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()

    def health(self) -> dict[str, Any]:
        return {"adapter": ADAPTER, "instance": self._instance, "bridges": dict(self.bridges),
                "link": "up" if self.bridges and all(
                    s == "online" for s in self.bridges.values()) else "down"}

    def _frame(self, msg: MqttMessage) -> RawFrame:
        assert self._host is not None
        return RawFrame(adapter=ADAPTER, tenant=self._tenant, transport="mqtt",
                        address=msg.topic, payload=msg.payload,
                        received=self._host.clock.now(), instance=self._instance,
                        meta={"base_topic": self.config.base_topic})

    async def _on_status(self, msg: MqttMessage) -> None:
        assert self._host is not None
        bridge = msg.topic.split("/")[-2]
        state = msg.payload.decode("utf-8", "replace").strip().lower()
        if self.bridges.get(bridge) == state:
            return  # a retained repeat (reconnect) says nothing new
        await self._host.ingest(self._frame(msg))  # raises if not stored: not acked
        self.bridges[bridge] = state

    async def _on_event(self, msg: MqttMessage) -> None:
        assert self._host is not None
        parts = msg.topic.split("/")
        if len(parts) >= 3:
            self._bridge_of[parts[-2]] = parts[-3]
        await self._host.ingest(self._frame(msg))  # raises if not stored: not acked

    async def _on_result(self, msg: MqttMessage) -> None:
        try:
            result = CommandResultMsg.model_validate_json(msg.payload)
        except ValidationError as err:
            log.warning("lasbro %s: unreadable command result on %s: %s", self._instance,
                        msg.topic, err.errors()[0]["msg"])
            return
        fut = self._pending.get(result.id)
        if fut is not None and not fut.done():
            fut.set_result(result)

    # ------------------------------------------------------------------ commands

    async def execute(self, command: Command) -> CommandResult:
        assert self._host is not None
        op = OPS.get(command.name)
        if op is None:
            return CommandResult(False, f"lasbro cannot {command.name}")
        lock = command.address
        bridge = self._bridge_of.get(lock, self.config.bridge)
        if self.bridges.get(bridge) == "offline":
            raise TransportError(f"lasbro bridge {bridge} is offline; {command.name} not sent")
        clock = self._host.clock
        fut: asyncio.Future[CommandResultMsg] = asyncio.get_running_loop().create_future()
        self._pending[command.id] = fut
        body = {"id": command.id, "op": op, "uid": command.requested_by.id,
                "ts": round(clock.now().timestamp(), 3)}
        try:
            await self._host.mqtt().publish(
                f"{self.config.base_topic}/{bridge}/{lock}/cmd",
                json.dumps(body, separators=(",", ":")), qos=self.config.qos)
            timer: asyncio.Future[None] = asyncio.ensure_future(
                clock.sleep(self.config.command_timeout_s))
            try:
                waiting: set[asyncio.Future[Any]] = {fut, timer}
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await timer
            if fut not in done:
                raise TransportError(f"lasbro bridge {bridge} did not answer {command.name} "
                                     f"within {self.config.command_timeout_s:g} s")
            result = fut.result()
        finally:
            self._pending.pop(command.id, None)
        if result.ok:
            return CommandResult(True, vendor_ref=result.id)
        reason = result.msg or result.err or "refused by the bridge"
        return CommandResult(False, f"{reason} ({result.err})" if result.err and result.msg
                             else reason)

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        base = frame.meta.get("base_topic", self.config.base_topic)
        if not frame.address.startswith(base + "/"):
            raise PayloadError(f"topic {frame.address!r} is not under {base!r}",
                               adapter=ADAPTER)
        parts = frame.address[len(base) + 1:].split("/")
        if len(parts) == 2 and parts[1] == "status":
            return self._decode_status(frame, parts[0])
        if len(parts) != 3 or parts[2] != "event" or not all(parts):
            raise PayloadError(f"topic {frame.address!r} is neither <bridge>/status nor "
                               "<bridge>/<lock>/event", adapter=ADAPTER)
        bridge, lock = parts[0], parts[1]
        try:
            ev = LockEvent.model_validate_json(frame.payload)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise PayloadError(f"event field {where}: {first['msg']}", adapter=ADAPTER,
                               device=lock) from err
        what = EVENTS.get(ev.evt)
        if what is None:
            raise PayloadError(f"unknown evt {ev.evt!r}", adapter=ADAPTER, device=lock)
        method = SOURCES.get(ev.src) if ev.src else None
        if what in ("unlocked", "locked") and method is None:
            raise PayloadError(f"unknown src {ev.src!r}", adapter=ADAPTER, device=lock)
        try:
            when = datetime.fromtimestamp(ev.ts, UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise PayloadError(f"ts {ev.ts!r} is not a time", adapter=ADAPTER,
                               device=lock) from err
        happening = DoorHappening(
            what=what,  # type: ignore[arg-type]
            time=when, method=method, user=ev.uid,
            deny_code=DENY_CODES.get(ev.why or ""),
            deny_text=f"refused by the lock ({ev.why})" if ev.why else None,
            battery_pct=ev.lvl, battery_low=ev.low, tamper=ev.on)
        device = {"id": device_id(ADAPTER, lock), "kind": DeviceKind.DOOR_LOCK,
                  "vendor": VENDOR, "model": ev.model}
        source = {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": f"{bridge}/{lock}#{ev.seq}"}
        try:
            return events_for(happening, tenant=frame.tenant, device=device, source=source)
        except ContractError as err:
            raise PayloadError(str(err), adapter=ADAPTER, device=lock) from err

    def _decode_status(self, frame: RawFrame, bridge: str) -> list[Event]:
        state = frame.payload.decode("utf-8", "replace").strip().lower()
        if state not in ("online", "offline"):
            raise PayloadError(f"bridge status {state[:40]!r} is not online/offline",
                               adapter=ADAPTER, device=f"bridge-{bridge}")
        reason = f"Låsbro bridge {bridge} is offline (its last will, or it said so)"
        return link_events(ADAPTER, f"bridge-{bridge}", "down" if state == "offline" else "up",
                           reason, frame.received, frame.tenant, PROTOCOL, VENDOR)
