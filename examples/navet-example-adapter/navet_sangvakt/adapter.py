"""Sängvakt hubs publish their bed sensors' messages on MQTT as short text lines.

``sangvakt/<hub>/<sensor>/evt`` carries ``<seq>;<unix time>;<code>[;<arg>]``:
``OUT;<side>`` (the resident left the bed on that side), ``HB;<interval s>``,
``BAT;<percent>``. ``sangvakt/<hub>/status`` carries the hub's ``online`` /
``offline`` (its retained last will). Decoding is pure; the MQTT subscription
belongs to ``start`` (not shown in this example: the host's transport feeds it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from gateway import (
    AdapterBase,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    PayloadError,
    RawFrame,
    device_id,
    make_event,
)

ADAPTER = "sangvakt"
PROTOCOL = "sangvakt-line"
VENDOR = "Sängvakt"
NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
SIDE = re.compile(r"[0-9]{1,2}")
MAX_BYTES = 256
"""A line is about 30 bytes; anything longer is refused unread."""
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


class SangvaktAdapter(AdapterBase):
    manifest: ClassVar[Manifest] = Manifest(
        name=ADAPTER,
        vendor=VENDOR,
        description="Sängvakt bed-exit sensors via their hub's MQTT line protocol",
        device_kinds=(DeviceKind.PASSIVE_SENSOR, DeviceKind.OTHER),
        transports=("mqtt",),
        contract=">=1.2,<2",  # location.zone is contract 1.2
        version="1.0.0",
    )

    def decode(self, frame: RawFrame) -> list[Event]:
        if len(frame.payload) > MAX_BYTES:
            raise PayloadError(f"message of {len(frame.payload)} bytes is longer than a "
                               f"Sängvakt line ({MAX_BYTES})", adapter=ADAPTER)
        parts = frame.address.split("/")
        if len(parts) == 3 and parts[0] == "sangvakt" and parts[2] == "status":
            return self._status(frame, parts[1])
        if len(parts) != 4 or parts[0] != "sangvakt" or parts[3] != "evt":
            raise PayloadError(f"topic {frame.address[:80]!r} is neither sangvakt/<hub>/status "
                               "nor sangvakt/<hub>/<sensor>/evt", adapter=ADAPTER)
        hub, sensor = parts[1], parts[2]
        if not (NAME.fullmatch(hub) and NAME.fullmatch(sensor)):
            raise PayloadError("hub and sensor names are letters, digits, '-' and '_'",
                               adapter=ADAPTER)
        try:
            line = frame.payload.decode("ascii").strip()
        except UnicodeDecodeError as err:
            raise PayloadError("the line is not ASCII", adapter=ADAPTER, device=sensor) from err
        try:
            return self._event(frame, sensor, line)
        except (ValueError, OverflowError, ContractError) as err:
            raise PayloadError(str(err), adapter=ADAPTER, device=sensor) from err

    def _event(self, frame: RawFrame, sensor: str, line: str) -> list[Event]:
        fields = line.split(";")
        if len(fields) not in (3, 4):
            raise ValueError(f"expected <seq>;<time>;<code>[;<arg>], got {line[:60]!r}")
        seq, unix, code = fields[0], fields[1], fields[2]
        arg = fields[3] if len(fields) == 4 else None
        if not seq.isdigit() or len(seq) > 9:
            raise ValueError(f"sequence number {seq[:12]!r} is not a number")
        if not unix.isdigit() or not EARLIEST <= int(unix) < LATEST:
            raise ValueError(f"time {unix[:12]!r} is not a unix time between 2020 and 2100")
        common: dict[str, Any] = {
            "tenant": frame.tenant,
            "time": datetime.fromtimestamp(int(unix), UTC),
            "device": {"id": device_id(ADAPTER, sensor), "kind": DeviceKind.PASSIVE_SENSOR,
                       "vendor": VENDOR, "serial": sensor},
            "source": {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": f"{sensor}:{seq}"},
        }
        if code == "OUT":
            if arg is None or not SIDE.fullmatch(arg):
                raise ValueError(f"OUT needs the bed side (1 or 2 digits), got {arg!r}")
            return [make_event(
                "alarm.raised", **common, alarm=f"{ADAPTER}:{sensor}:{seq}", priority="high",
                location={"text": f"bed side {arg}", "zone": arg},
                data={"kind": "passive.bed_exit", "code": "OUT"})]
        if code == "HB":
            if arg is None or not arg.isdigit() or not 1 <= int(arg) <= 86_400:
                raise ValueError(f"HB needs the interval in seconds (1-86400), got {arg!r}")
            return [make_event("device.heartbeat", **common, data={"interval_s": int(arg)})]
        if code == "BAT":
            if arg is None or not arg.isdigit() or int(arg) > 100:
                raise ValueError(f"BAT needs a percentage (0-100), got {arg!r}")
            return [make_event("device.battery", **common,
                               data={"level_pct": int(arg), "low": int(arg) < 20})]
        raise ValueError(f"unknown code {code[:12]!r}")

    def _status(self, frame: RawFrame, hub: str) -> list[Event]:
        if not NAME.fullmatch(hub):
            raise PayloadError("hub names are letters, digits, '-' and '_'", adapter=ADAPTER)
        state = frame.payload.decode("ascii", "replace").strip()
        common: dict[str, Any] = {
            "tenant": frame.tenant,
            "time": frame.received,  # the status line carries no time of its own
            "device": {"id": device_id(ADAPTER, f"hub-{hub}"), "kind": DeviceKind.OTHER,
                       "vendor": VENDOR, "serial": hub},
            "source": {"adapter": ADAPTER, "protocol": PROTOCOL,
                       "ref": f"hub-{hub}:{state}:{frame.received.isoformat()}"},
        }
        if state == "online":
            return [make_event("device.online", **common, data={})]
        if state == "offline":
            return [make_event("device.offline", **common,
                               data={"reason": f"Sängvakt hub {hub} went offline (last will)"})]
        raise PayloadError(f"hub status {state[:20]!r} is not online/offline", adapter=ADAPTER,
                           device=f"hub-{hub}")
