"""The Medikub adapter: dispensers that publish JSON on their own MQTT topics.

Topics under the instance's ``base_topic`` (wire format in
contracts/vendors/medikub.md)::

    <base>/<serial>/evt    QoS 1  one event: {"seq", "ts", "ev", ...}
    <base>/<serial>/hb     QoS 0  heartbeat: {"ts", "every"}
    <base>/<serial>/conn   QoS 1, retained; the dispenser's last will says offline

Event ids come from the dispenser's serial and its event counter ``seq`` (kept
across restarts by the device), so a QoS 1 redelivery is a duplicate, never a
second event. Heartbeats and connection messages are identified by their ``ts``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Final

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
    make_event,
)

from ..common import (
    Fields,
    battery_event,
    contract_guard,
    dispenser,
    dose_event,
    fault_event,
    heartbeat_event,
    refill_event,
)
from ..const import MEDIKUB, MEDIKUB_PROTOCOL, MEDIKUB_VENDOR
from .models import MedikubSettings

DOSE_STEPS: Final = {"due": "due", "out": "dispensed", "taken": "taken", "skip": "missed"}
FAULT_CODES: Final = {10: "mains", 20: "jam", 30: "network", 40: "hatch", 50: "empty"}
EVENTS: Final = (*DOSE_STEPS, "low", "err", "bat")
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class MedikubAdapter(AdapterBase):
    """Turn Medikub dispenser messages into dose, device and heartbeat events."""

    manifest: ClassVar[Manifest] = Manifest(
        name=MEDIKUB,
        vendor="Medikub (medication dispenser, JSON over MQTT)",
        description="Medication dispensers publishing dose events and heartbeats over MQTT",
        device_kinds=(DeviceKind.MEDICATION_DISPENSER,),
        transports=("mqtt",),
        contract=">=1.0,<2",
    )

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.config = MedikubSettings.model_validate(self.settings)
        self._host: AdapterHost | None = None
        self._tenant = ""
        self._instance = ""

    async def start(self, host: AdapterHost) -> None:
        self._host = host
        self._tenant = getattr(host, "tenant", "")
        self._instance = getattr(host, "instance_id", "")
        mqtt = host.mqtt()
        for leaf in ("evt", "hb", "conn"):
            await mqtt.subscribe(f"{self.config.base_topic}/+/{leaf}", self._on_message,
                                 qos=self.config.qos)

    async def _on_message(self, msg: MqttMessage) -> None:
        assert self._host is not None
        frame = RawFrame(adapter=MEDIKUB, tenant=self._tenant, transport="mqtt",
                         address=msg.topic, payload=msg.payload,
                         received=self._host.clock.now(), instance=self._instance,
                         meta={"base_topic": self.config.base_topic})
        await self._host.ingest(frame)  # raises if not stored: the message is not acked

    # ------------------------------------------------------------------ decode

    def decode(self, frame: RawFrame) -> list[Event]:
        base = frame.meta.get("base_topic", self.config.base_topic)
        rest = frame.address[len(base) + 1:] if frame.address.startswith(base + "/") else ""
        serial, _, leaf = rest.partition("/")
        if not serial or leaf not in ("evt", "hb", "conn"):
            raise PayloadError(f"topic {frame.address!r} is not {base}/<serial>/evt|hb|conn",
                               adapter=MEDIKUB)
        if not SERIAL.match(serial):
            raise PayloadError(f"serial {serial!r} in topic {frame.address!r} may hold only "
                               "letters, digits, '.', '_', '-'", adapter=MEDIKUB)
        try:
            body = frame.json()
        except ValueError as err:
            raise PayloadError(f"payload is not JSON: {err}", adapter=MEDIKUB, device=serial) \
                from err
        f = Fields(body, adapter=MEDIKUB, device=serial, where=leaf)
        device = dispenser(MEDIKUB, serial, MEDIKUB_VENDOR, None)
        try:
            if leaf == "hb":
                ts = f.epoch("ts")
                return [heartbeat_event(
                    adapter=MEDIKUB, protocol=MEDIKUB_PROTOCOL, tenant=frame.tenant, time=ts,
                    device=device, ref=f"hb@{int(ts.timestamp())}",
                    interval=f.integer("every", required=False, lo=10, hi=86_400))]
            if leaf == "conn":
                return [self._conn(frame, f, device)]
            return [self._event(frame, f, device, serial)]
        except ContractError as err:
            raise contract_guard(MEDIKUB, serial, err) from err

    @staticmethod
    def _conn(frame: RawFrame, f: Fields, device: dict[str, Any]) -> Event:
        online = f.boolean("online")
        ts = f.epoch("ts")  # when the dispenser connected; its last will carries the same ts
        source = {"adapter": MEDIKUB, "protocol": MEDIKUB_PROTOCOL,
                  "ref": f"conn@{int(ts.timestamp())}:{'on' if online else 'off'}"}
        if online:
            return make_event("device.online", tenant=frame.tenant, time=ts, device=device,
                              source=source, data={})
        return make_event(
            "device.offline", tenant=frame.tenant, time=frame.received, device=device,
            source=source,
            data={"reason": "the dispenser's connection to the broker was lost (last will)"})

    @staticmethod
    def _event(frame: RawFrame, f: Fields, device: dict[str, Any], serial: str) -> Event:
        seq = f.integer("seq", hi=2**32 - 1)
        when = f.epoch("ts")
        ev = f.text("ev", max_len=16)
        if ev not in EVENTS:
            raise f.fail(f"unknown ev {ev!r} (known: {', '.join(EVENTS)})")
        common = {"adapter": MEDIKUB, "protocol": MEDIKUB_PROTOCOL, "tenant": frame.tenant,
                  "time": when, "device": device, "ref": f"{serial}#{seq}"}
        if ev in DOSE_STEPS:
            pouch = f.text("pouch")
            assert pouch is not None
            return dose_event(DOSE_STEPS[ev], **common, dose=pouch, scheduled=f.epoch("at"),
                              label=f.text("lbl", required=False, max_len=200))
        if ev == "low":
            left = f.integer("left", hi=10_000)
            assert left is not None
            return refill_event(**common, remaining=left)
        if ev == "err":
            code = f.integer("code", hi=999)
            on = f.boolean("on")
            assert code is not None and on is not None
            return fault_event(**common, fault=FAULT_CODES.get(code, "other"), active=on,
                               code=str(code))
        return battery_event(**common, level=f.integer("pct", hi=100), low=None)
