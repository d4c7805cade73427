"""Zigbee2MQTT: JSON device state on ``<base_topic>/<friendly_name>``.

Zigbee2MQTT publishes one JSON object per device update, with whatever the
device exposes (``contact``, ``occupancy``, ``water_leak``, ``battery``,
``linkquality`` ...), and ``{"state": "online"|"offline"}`` on
``<base_topic>/<friendly_name>/availability`` when availability is enabled.

Ids: with ``advanced.last_seen`` set (recommended, documented for operators)
each message carries ``last_seen``, which makes the event id deterministic
for a redelivered message. Without it the receive time is the reference, and
deduplication then covers only exact redelivery within the same instant.

Endpoints. A device with several endpoints (a double contact, a two-gang
sensor) reports each endpoint's readings with the endpoint name as suffix
(``contact_l2``, ``occupancy_left``). Each endpoint becomes its own
``sensor.reported`` with ``location.zone`` the endpoint name as sent
(contract 1.2), so an alarm raised from it, and every forwarding sink,
names the input that triggered. Readings without suffix stay one event
without zone, as before.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
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
    device_id,
    make_event,
)

from .const import ADAPTER, BOOL_READINGS, LOW_BATTERY_PCT, NUMBER_READINGS, PROTOCOL
from .models import Zigbee2MqttSettings


class Zigbee2MqttAdapter(AdapterBase):
    """Turn Zigbee2MQTT device messages into sensor, battery and heartbeat events."""

    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor="Zigbee2MQTT (open source bridge; any Zigbee sensor it supports)",
        description="Passive sensors (door, bed/chair, motion, water, fall) via Zigbee2MQTT",
        device_kinds=(DeviceKind.PASSIVE_SENSOR,),
        transports=("mqtt",),
        contract=">=1.0,<2",
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = Zigbee2MqttSettings.model_validate(self.settings)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""

    # ------------------------------------------------------------------ I/O

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "")
        mqtt = host.mqtt()
        base = self.config.base_topic
        await mqtt.subscribe(f"{base}/+", self._on_message, qos=self.config.qos)
        await mqtt.subscribe(f"{base}/+/availability", self._on_message, qos=self.config.qos)

    async def _on_message(self, msg: MqttMessage) -> None:
        assert self._host is not None
        if msg.topic.startswith(f"{self.config.base_topic}/bridge"):
            return  # the bridge's own state, not a device
        frame = RawFrame(
            adapter=ADAPTER, tenant=self._tenant, transport="mqtt", address=msg.topic,
            payload=msg.payload, received=self._host.clock.now(), instance=self._instance,
            meta={"base_topic": self.config.base_topic},
        )
        await self._host.ingest(frame)  # raises if not stored: the message is not acked

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        base = frame.meta.get("base_topic", self.config.base_topic)
        rest = frame.address[len(base) + 1:] if frame.address.startswith(base + "/") else ""
        if not rest:
            raise PayloadError(f"topic {frame.address!r} is not under {base!r}", adapter=ADAPTER)
        availability = rest.endswith("/availability")
        name = rest.removesuffix("/availability")
        if not name or "/" in name:
            raise PayloadError(f"topic {frame.address!r} has no friendly name", adapter=ADAPTER)
        device = {"id": device_id(ADAPTER, name), "kind": DeviceKind.PASSIVE_SENSOR}
        try:
            if availability:
                return self._availability(frame, name, device)
            return self._state(frame, name, device)
        except ContractError as err:
            raise PayloadError(str(err), adapter=ADAPTER, device=name) from err

    def _availability(self, frame: RawFrame, name: str, device: dict[str, Any]) -> list[Event]:
        text = frame.payload.decode("utf-8", "replace").strip()
        state: Any = text
        if text.startswith("{"):
            try:
                state = frame.json().get("state")
            except (ValueError, AttributeError) as err:
                raise PayloadError(f"availability is not JSON: {err}", adapter=ADAPTER,
                                   device=name) from err
        if state not in ("online", "offline"):
            raise PayloadError(f"availability state {state!r} is not online/offline",
                               adapter=ADAPTER, device=name)
        ref = frame.received.isoformat()
        source = {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": ref}
        if state == "online":
            return [make_event("device.online", tenant=frame.tenant, time=frame.received,
                               source=source, device=device, data={})]
        return [make_event("device.offline", tenant=frame.tenant, time=frame.received,
                           source=source, device=device,
                           data={"reason": "Zigbee2MQTT reports the device unavailable"})]

    def _state(self, frame: RawFrame, name: str, device: dict[str, Any]) -> list[Event]:
        try:
            body = frame.json()
        except ValueError as err:
            raise PayloadError(f"payload is not JSON: {err}", adapter=ADAPTER, device=name) \
                from err
        if not isinstance(body, dict):
            raise PayloadError(f"payload must be a JSON object, got {type(body).__name__}",
                               adapter=ADAPTER, device=name)
        when, ref = _time_and_ref(body.get("last_seen"), frame.received, name)
        source = {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": ref}
        common = {"tenant": frame.tenant, "time": when, "source": source, "device": device}

        by_endpoint: dict[str | None, dict[str, Any]] = {}
        for key, value in body.items():
            m = _READING.match(key)
            if m is None or value is None:
                continue
            reading, endpoint = m["reading"], m["endpoint"]
            readings = by_endpoint.setdefault(endpoint, {})
            if reading in BOOL_READINGS:
                readings[reading] = _bool(body, key, name)
            else:
                readings[NUMBER_READINGS[reading]] = _number(body, key, name)
        link = body.get("linkquality")
        if link is not None and (not isinstance(link, int) or isinstance(link, bool)):
            raise PayloadError(f"linkquality must be an integer, got {link!r}",
                               adapter=ADAPTER, device=name)

        events: list[Event] = []
        for endpoint, readings in sorted(by_endpoint.items(), key=lambda kv: kv[0] or ""):
            where: dict[str, Any] = {}
            if endpoint is not None:
                where = {"location": {"text": f"endpoint {endpoint}", "zone": endpoint},
                         "id_parts": ("endpoint", endpoint)}
            events.append(make_event("sensor.reported", **common, **where,
                                     data={"readings": readings, "link_quality": link}))
        battery = body.get("battery")
        battery_low = body.get("battery_low")
        if battery is not None or battery_low is not None:
            level = None if battery is None else round(_number(body, "battery", name))
            low = _bool(body, "battery_low", name) if battery_low is not None else \
                (level is not None and level <= LOW_BATTERY_PCT)
            voltage = body.get("voltage")
            if voltage is not None:
                voltage = int(_number(body, "voltage", name))
            events.append(make_event("device.battery", **common, data={
                "level_pct": level, "low": low, "voltage_mv": voltage,
            }))
        if body.get("tamper") is True:
            events.append(make_event("device.tamper", **common, data={"active": True}))
        events.append(make_event("device.heartbeat", **common, data={"link_quality": link}))
        return events


_READING = re.compile(
    "^(?P<reading>" + "|".join(sorted((*BOOL_READINGS, *NUMBER_READINGS), key=len, reverse=True))
    + r")(?:_(?P<endpoint>l[0-9]{1,2}|ep[0-9]{1,3}|[0-9]{1,3}|left|right|top|bottom|center))?$")
"""A reading, bare or with an endpoint suffix (Zigbee2MQTT's endpoint names: ``l1``..,
``left``, ``right`` ...). Other suffixes (``occupancy_timeout``) are settings, not readings."""


def _time_and_ref(last_seen: Any, received: datetime, name: str) -> tuple[datetime, str]:
    if last_seen is None:
        return received, received.isoformat()
    if isinstance(last_seen, int | float) and not isinstance(last_seen, bool):
        try:
            when = datetime.fromtimestamp(last_seen / 1000, UTC)  # epoch milliseconds
        except (ValueError, OverflowError, OSError) as err:
            raise PayloadError(f"last_seen {last_seen!r} is not a usable epoch-ms time",
                               adapter=ADAPTER, device=name) from err
        return when, str(last_seen)
    if isinstance(last_seen, str):
        try:
            when = datetime.fromisoformat(last_seen.replace("Z", "+00:00"))
        except ValueError as err:
            raise PayloadError(f"last_seen {last_seen!r} is not ISO 8601", adapter=ADAPTER,
                               device=name) from err
        if when.tzinfo is None:
            raise PayloadError(f"last_seen {last_seen!r} has no UTC offset", adapter=ADAPTER,
                               device=name)
        return when.astimezone(UTC), last_seen
    raise PayloadError(f"last_seen must be ISO 8601 text or epoch ms, got {last_seen!r}",
                       adapter=ADAPTER, device=name)


def _bool(body: dict[str, Any], key: str, name: str) -> bool:
    value = body[key]
    if not isinstance(value, bool):
        raise PayloadError(f"{key} must be true or false, got {value!r}", adapter=ADAPTER,
                           device=name)
    return value


def _number(body: dict[str, Any], key: str, name: str) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{key} must be a number, got {value!r}", adapter=ADAPTER,
                           device=name)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise PayloadError(f"{key} must be a finite number, got {value!r}", adapter=ADAPTER,
                           device=name)
    return number


