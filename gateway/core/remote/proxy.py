"""The proxy adapter: an out-of-process adapter as the gateway sees it.

One class per remote adapter the deployment declares (``remote_adapters`` in
settings, each a manifest), made by :func:`remote_adapter_class`. It sits in the
adapter registry like any in-process adapter, so an adapter instance, the
catalogue, the conformance kit and ``navet decode`` treat it the same way.
Its :meth:`RemoteAdapter.decode` is pure: it turns what the remote process sent
(a CloudEvent on ``events``, its ``hello``, a silence noticed by the watchdog)
into contract events, refusing what the manifest does not allow.

Durable before ack, end to end: the remote process publishes an event at QoS 1
and keeps it until Navet acknowledges it on ``acks``; this proxy publishes that
ack only after ``host.ingest`` returned, i.e. once the event (or, if invalid,
the frame as a dead letter) is committed. A store failure raises in the MQTT
handler, so neither the broker's PUBACK nor the ack is sent and the message is
tried again. An event sent again (after a reconnect, or redelivered to a
restarted gateway) has the same id and is stored once, and acked again
(``duplicate``), so the remote process can forget it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway import (
    CONTRACT_VERSION,
    AdapterBase,
    AdapterHost,
    Command,
    CommandResult,
    ContractError,
    DeviceKind,
    EventBase,
    Manifest,
    MqttMessage,
    PayloadError,
    RawFrame,
    TransportError,
    device_id,
    from_cloudevent,
    make_event,
)
from gateway.core.model import CATALOGUE

from .topics import RemoteTopics

log = logging.getLogger(__name__)

LINK_TRANSPORT = "link"
"""Transport of the frames the proxy makes itself (the adapter process fell silent)."""
PROCESS_ADDRESS = "adapter-process"
"""Address of the device that stands for the adapter process (``<adapter>:adapter-process``)."""
MAX_EVENT_BYTES = 256 * 1024


class RemoteSettings(BaseModel):
    """Settings of one instance of an out-of-process adapter (``adapters[].settings``)."""

    model_config = ConfigDict(extra="forbid")

    prefix: str = Field(default="navet", pattern=r"^[A-Za-z0-9_-]+$",
                        description="First topic level (the adapter's topics are "
                        "<prefix>/<tenant>/adapters/<adapter>/...).")
    silent_after_s: float = Field(default=0, ge=0, description="Seconds without a heartbeat "
                                  "after which the adapter process counts as down (a "
                                  "device.offline of <adapter>:adapter-process); 0: three "
                                  "of the heartbeat intervals its hello announces.")
    command_timeout_s: float = Field(default=10.0, gt=0, le=300)
    qos: int = Field(default=1, ge=1, le=1)


class Hello(BaseModel):
    """What the adapter process announces (retained on ``hello``)."""

    model_config = ConfigDict(extra="ignore")

    state: str = Field(pattern=r"^(online|offline)$")
    manifest: dict[str, Any] | None = None
    heartbeat_s: float = Field(default=10.0, gt=0, le=3600)
    session: str | None = Field(default=None, max_length=100)
    time: datetime | None = None
    reason: str | None = Field(default=None, max_length=200)


class ResultMsg(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    accepted: bool
    reason: str = Field(default="", max_length=500)
    vendor_ref: str | None = Field(default=None, max_length=200)


class RemoteAdapter(AdapterBase):
    """Base of every proxy class; :func:`remote_adapter_class` sets ``manifest``."""

    manifest: ClassVar[Manifest]
    remote: ClassVar[bool] = True
    manifest_file: ClassVar[Path | None] = None
    """The vendor's manifest file, when the deployment named one."""
    conformance_file: ClassVar[Path | None] = None
    """``conformance.json`` beside the manifest file: what the conformance kit reads."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = RemoteSettings.model_validate(self.settings)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""
        self.topics = RemoteTopics("", self.manifest.name, self.config.prefix)
        self.state = "unknown"  # of the adapter process: unknown | online | offline
        self.hello: Hello | None = None
        self.refusal: str | None = None  # why its hello was refused, if it was
        self.last_heartbeat: datetime | None = None
        self.unacked: int | None = None
        self._pending: dict[str, asyncio.Future[ResultMsg]] = {}
        self._watchdog: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ I/O

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = host.tenant
        self._instance = host.instance_id
        self.topics = RemoteTopics(self._tenant, self.manifest.name, self.config.prefix)
        mqtt = host.mqtt()
        qos = self.config.qos
        await mqtt.subscribe(self.topics.hello, self._on_hello, qos=qos)
        await mqtt.subscribe(self.topics.heartbeat, self._on_heartbeat, qos=qos)
        await mqtt.subscribe(self.topics.events, self._on_event, qos=qos)
        await mqtt.subscribe(self.topics.events_by_key, self._on_event, qos=qos)
        await mqtt.subscribe(self.topics.results, self._on_result, qos=qos)
        self._watchdog = asyncio.create_task(self._watch(), name=f"remote-{self._instance}")

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()

    def health(self) -> dict[str, Any]:
        return {"adapter": self.manifest.name, "instance": self._instance, "remote": True,
                "process": self.state, "link": "up" if self.state == "online" else "down",
                "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat
                else None, "unacked": self.unacked, "refused": self.refusal,
                "session": self.hello.session if self.hello else None}

    def _frame(self, topic: str, payload: bytes, transport: str = "mqtt") -> RawFrame:
        assert self._host is not None
        return RawFrame(adapter=self.manifest.name, tenant=self._tenant, transport=transport,
                        address=topic, payload=payload, received=self._host.clock.now(),
                        instance=self._instance, meta={"prefix": self.config.prefix})

    async def _publish(self, topic: str, body: dict[str, Any]) -> None:
        assert self._host is not None
        await self._host.mqtt().publish(topic, json.dumps(body, separators=(",", ":")),
                                         qos=1)

    async def _on_event(self, msg: MqttMessage) -> None:
        assert self._host is not None
        result = await self._host.ingest(self._frame(msg.topic, msg.payload))  # raises: no ack
        if result.dead_letter is not None or result.reason is not None or \
                not (result.accepted or result.duplicates):
            ack = {"id": _claimed_id(msg.payload), "status": "refused",
                   "reason": result.reason or "refused; kept as a dead letter",
                   "frame": result.frame}
        else:
            ids = [*result.accepted, *result.duplicates]
            ack = {"id": ids[0], "status": "stored" if result.accepted else "duplicate"}
        await self._publish(self.topics.acks, ack)

    async def _on_hello(self, msg: MqttMessage) -> None:
        assert self._host is not None
        try:
            hello = Hello.model_validate_json(msg.payload)
        except ValidationError as err:
            log.warning("%s: unreadable hello on %s: %s", self._instance, msg.topic,
                        err.errors()[0]["msg"])
            return
        if hello.state == "online":
            self.refusal = self.check_hello(hello)
            await self._publish(self.topics.welcome, {
                "accepted": self.refusal is None, "reason": self.refusal,
                "contract": CONTRACT_VERSION, "adapter": self.manifest.name,
                "tenant": self._tenant, "session": hello.session})
            if self.refusal is not None:
                log.warning("%s: refused the adapter process: %s", self._instance,
                            self.refusal)
                return
            self.last_heartbeat = self._host.clock.now()
        self.hello = hello
        if self.state != hello.state:
            await self._host.ingest(self._frame(msg.topic, msg.payload))  # raises: not acked
            self.state = hello.state

    def check_hello(self, hello: Hello) -> str | None:
        """Why the process that said ``hello`` may not speak for this adapter, or None."""
        if hello.manifest is None:
            return "hello has no manifest"
        try:
            theirs = Manifest.model_validate(hello.manifest)
        except ValidationError as err:
            first = err.errors()[0]
            return f"manifest field {'.'.join(map(str, first['loc']))}: {first['msg']}"
        ours = self.manifest
        if theirs.name != ours.name:
            return f"manifest names adapter {theirs.name!r}, these topics are {ours.name!r}'s"
        if not theirs.supports(CONTRACT_VERSION):
            return (f"adapter supports contract {theirs.contract} but this gateway runs "
                    f"contract {CONTRACT_VERSION}")
        extra = set(theirs.device_kinds) - set(ours.device_kinds)
        if extra:
            return (f"device kinds {sorted(map(str, extra))} are not in the manifest this "
                    f"deployment declared ({', '.join(map(str, ours.device_kinds))})")
        extra_cmd = set(theirs.commands) - set(ours.commands)
        if extra_cmd:
            return f"commands {sorted(extra_cmd)} are not in the declared manifest"
        return None

    async def _on_heartbeat(self, msg: MqttMessage) -> None:
        assert self._host is not None
        self.last_heartbeat = self._host.clock.now()
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            self.unacked = int(json.loads(msg.payload).get("unacked"))
        if self.state == "offline" and self.refusal is None and self.hello is not None:
            # it was silent, not gone: heard again
            await self._host.ingest(self._frame(self.topics.hello, json.dumps(
                {"state": "online", "reason": "heartbeat heard again"}).encode()))
            self.state = "online"

    def silent_after(self) -> float:
        if self.config.silent_after_s:
            return self.config.silent_after_s
        return 3 * (self.hello.heartbeat_s if self.hello else 10.0)

    async def _watch(self) -> None:
        """Take the process for down when its heartbeats stop (it may hang, not die)."""
        assert self._host is not None
        clock = self._host.clock
        while True:
            await clock.sleep(min(self.silent_after() / 3, 5.0))
            last = self.last_heartbeat
            if self.state != "online" or last is None:
                continue
            if (clock.now() - last).total_seconds() < self.silent_after():
                continue
            body = {"state": "offline", "time": clock.now().isoformat(),
                    "reason": f"no heartbeat for {self.silent_after():g} s"}
            try:
                await self._host.ingest(self._frame(self.topics.heartbeat,
                                                    json.dumps(body).encode(),
                                                    transport=LINK_TRANSPORT))
                self.state = "offline"
            except Exception:  # the store is down: try again on the next round
                log.exception("%s: could not store that the adapter fell silent",
                              self._instance)

    async def _on_result(self, msg: MqttMessage) -> None:
        try:
            result = ResultMsg.model_validate_json(msg.payload)
        except ValidationError as err:
            log.warning("%s: unreadable command result: %s", self._instance,
                        err.errors()[0]["msg"])
            return
        fut = self._pending.get(result.id)
        if fut is not None and not fut.done():
            fut.set_result(result)

    # ------------------------------------------------------------------ commands

    async def execute(self, command: Command) -> CommandResult:
        """Publish ``command`` on ``commands``; wait for its result on ``results``."""
        assert self._host is not None
        if command.name not in self.manifest.commands:
            return CommandResult(False, f"{self.manifest.name} cannot {command.name}")
        if self.state != "online":
            raise TransportError(f"adapter process {self.manifest.name} for {self._tenant} is "
                                 f"{self.state}; {command.name} not sent")
        clock = self._host.clock
        fut: asyncio.Future[ResultMsg] = asyncio.get_running_loop().create_future()
        self._pending[command.id] = fut
        body = {"id": command.id, "name": command.name, "device": command.device,
                "address": command.address, "resident": command.resident,
                "args": dict(command.args), "issued": command.issued.isoformat(),
                "requested_by": {"kind": str(command.requested_by.kind),
                                 "id": command.requested_by.id}}
        try:
            await self._publish(self.topics.commands, body)
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
                raise TransportError(f"adapter process {self.manifest.name} did not answer "
                                     f"{command.name} within {self.config.command_timeout_s:g} s")
            result = fut.result()
        finally:
            self._pending.pop(command.id, None)
        return CommandResult(result.accepted, result.reason, result.vendor_ref or result.id)

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[EventBase]:
        name = self.manifest.name
        parts = frame.address.split("/")
        keyed = len(parts) >= 2 and parts[-2] == "events"  # events/<key>
        if not keyed and parts[-1] in ("hello", "heartbeat"):
            return self._process_state(frame)
        if not keyed and parts[-1] != "events":
            raise PayloadError(f"topic {frame.address!r} is not one of {name}'s event topics",
                               adapter=name)
        if len(frame.payload) > MAX_EVENT_BYTES:
            raise PayloadError(f"event of {len(frame.payload)} bytes exceeds "
                               f"{MAX_EVENT_BYTES} bytes", adapter=name)
        try:
            ce = frame.json()
        except ValueError as err:
            raise PayloadError(f"payload is not JSON: {err}", adapter=name) from err
        if not isinstance(ce, dict):
            raise PayloadError(f"payload must be one CloudEvent (a JSON object), got "
                               f"{type(ce).__name__}", adapter=name)
        if ce.get("datacontenttype", "application/json") != "application/json":
            raise PayloadError(f"datacontenttype {ce.get('datacontenttype')!r} is not "
                               "application/json", adapter=name)
        if ce.get("type") not in CATALOGUE:
            raise PayloadError(f"type {str(ce.get('type'))[:60]!r} is not an event type of "
                               f"contract {CONTRACT_VERSION} (contracts/events/)", adapter=name)
        try:
            event = from_cloudevent(ce)
        except ContractError as err:
            raise PayloadError(str(err), adapter=name) from err
        device = event.device.id if event.device else None
        source = f"/navet/{frame.tenant}/{name}"
        if ce.get("source") != source:
            raise PayloadError(f"CloudEvent source {ce.get('source')!r} must be {source!r}",
                               adapter=name, device=device)
        if event.source.adapter != name:
            raise PayloadError(f"data.source.adapter {event.source.adapter!r} must be {name!r}",
                               adapter=name, device=device)
        if event.tenant != frame.tenant:
            raise PayloadError(f"event for tenant {event.tenant!r} on tenant "
                               f"{frame.tenant!r}'s topic", adapter=name, device=device)
        if event.device is not None:
            if not event.device.id.startswith(f"{name}:"):
                raise PayloadError(f"device id {event.device.id!r} must start with "
                                   f"'{name}:'", adapter=name, device=device)
            if event.device.kind not in self.manifest.device_kinds:
                raise PayloadError(f"device kind {event.device.kind} is not in the manifest "
                                   f"({', '.join(map(str, self.manifest.device_kinds))})",
                                   adapter=name, device=device)
        if event.received is not None:
            event = event.model_copy(update={"received": None})  # Navet says when it stored
        return [event]

    def _process_state(self, frame: RawFrame) -> list[EventBase]:
        """``device.online``/``offline`` of ``<adapter>:adapter-process``."""
        name = self.manifest.name
        try:
            hello = Hello.model_validate_json(frame.payload)
        except ValidationError as err:
            raise PayloadError(f"hello: {err.errors()[0]['msg']}", adapter=name) from err
        when = hello.time or frame.received
        device = {"id": device_id(name, PROCESS_ADDRESS), "kind": DeviceKind.OTHER,
                  "vendor": self.manifest.vendor, "model": "out-of-process adapter"}
        source = {"adapter": name, "protocol": "navet-mqtt",
                  "ref": f"{frame.transport}:{hello.state}:{hello.session or ''}:"
                         f"{when.isoformat()}"}
        common: dict[str, Any] = {"tenant": frame.tenant, "time": when, "source": source,
                                  "device": device}
        if hello.state == "online":
            return [make_event("device.online", data={}, **common)]
        reason = hello.reason or "the adapter process disconnected"
        return [make_event("device.offline", data={"reason": reason[:200]}, **common)]


def _claimed_id(payload: bytes) -> str | None:
    """The ``id`` an unusable event claims, so the sender can stop resending it."""
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    ident = value.get("id") if isinstance(value, dict) else None
    return ident if isinstance(ident, str) and len(ident) <= 200 else None


def remote_adapter_class(manifest: Manifest, manifest_file: Path | None = None
                         ) -> type[RemoteAdapter]:
    """A proxy adapter class for the out-of-process adapter ``manifest`` describes.

    ``manifest_file`` is where the vendor's manifest was read from; the class then
    names the ``conformance.json`` beside it (``conformance_file``) for the kit.
    """
    if "mqtt" not in manifest.transports:
        manifest = manifest.model_copy(update={"transports": (*manifest.transports, "mqtt")})
    cls_name = "Remote_" + manifest.name.replace("-", "_")
    return type(cls_name, (RemoteAdapter,), {
        "manifest": manifest, "manifest_file": manifest_file,
        "conformance_file": manifest_file.with_name("conformance.json")
        if manifest_file is not None else None,
        "__doc__": f"Out-of-process adapter {manifest.name} ({manifest.vendor})."})
