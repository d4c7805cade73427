"""A small, correct adapter for the kit's own tests, and one broken copy per check.

The probe speaks an imagined JSON protocol: ``{"id", "dev", "what", "at"}``
with ``what`` one of ``alarm`` (with an optional ``zone``), ``battery`` (with
``low``), ``alive`` (every 60 s) and ``gone``. Each broken adapter below breaks
exactly one rule the kit checks, in a way a real adapter could, and only where
that check looks (the others must still pass).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from gateway import (
    CONTRACT_VERSION,
    AdapterBase,
    AdapterHost,
    Command,
    CommandResult,
    ContractError,
    DeviceKind,
    Event,
    Manifest,
    PayloadError,
    RawFrame,
    TransportError,
    device_id,
    event_id,
    make_event,
)
from gateway.conformance import Declaration, parse_declaration

NAME = "probe"
RECEIVED = "2026-01-01T03:00:00+00:00"
TENANT = "probeby"


def payload(what: str, n: int = 1, **fields: Any) -> str:
    return json.dumps({"id": f"m-{n}", "dev": "P-1", "what": what,
                       "at": "2026-01-01T02:59:59+00:00", **fields})


FRAMES = {
    "alarm": payload("alarm", 1),
    "battery": payload("battery", 2, low=True),
    "alive": payload("alive", 3),
    "gone": payload("gone", 4),
    "zone": payload("alarm", 5, zone="012"),
    "no_dev": json.dumps({"id": "m-6", "what": "alarm", "at": "2026-01-01T02:59:59+00:00"}),
}


class ProbeAdapter(AdapterBase):
    manifest: ClassVar[Manifest] = Manifest(
        name=NAME, vendor="Probe AB", description="The conformance kit's test adapter",
        device_kinds=(DeviceKind.SOCIAL_ALARM,), transports=("mqtt",), contract=">=1.0,<2",
        commands=("lock.unlock",), version="1.0.0")

    host: AdapterHost | None = None

    async def start(self, host: AdapterHost) -> None:
        self.host = host

    async def execute(self, command: Command) -> CommandResult:
        assert self.host is not None
        await self.host.clock.sleep(30)  # the vendor never answers
        raise TransportError(f"probe: vendor did not answer {command.name}")

    def parse(self, frame: RawFrame) -> dict[str, Any]:
        try:
            body = frame.json()
        except (ValueError, UnicodeDecodeError) as err:
            raise PayloadError(f"not JSON: {err}", adapter=NAME) from err
        if not isinstance(body, dict):
            raise PayloadError("not a JSON object", adapter=NAME)
        return body

    def decode(self, frame: RawFrame) -> list[Event]:
        body = self.parse(frame)
        dev = body.get("dev")
        if not isinstance(dev, str) or not dev:
            raise PayloadError("dev is missing", adapter=NAME)
        try:
            when = datetime.fromisoformat(str(body.get("at")))
            if when.tzinfo is None:
                raise ValueError("at has no UTC offset")
            return self.events(frame, body, dev, when)
        except (ValueError, OverflowError, TypeError, ContractError) as err:
            raise PayloadError(str(err), adapter=NAME, device=dev) from err

    def events(self, frame: RawFrame, body: dict[str, Any], dev: str,
               when: datetime) -> list[Event]:
        common: dict[str, Any] = {
            "tenant": frame.tenant, "time": when,
            "device": {"id": device_id(NAME, dev), "kind": DeviceKind.SOCIAL_ALARM},
            "source": {"adapter": NAME, "protocol": "probe", "ref": str(body.get("id"))}}
        what = body.get("what")
        if what == "alarm":
            zone = body.get("zone")
            location = {"text": f"zone {zone}", "zone": self.zone(zone)} if zone else None
            return [make_event("alarm.raised", **common, location=location,
                               alarm=f"{NAME}:{dev}:{body.get('id')}",
                               data={"kind": "personal_button"})]
        if what == "battery":
            return [make_event("device.battery", **common, data={"low": bool(body.get("low"))})]
        if what == "alive":
            return [make_event("device.heartbeat", **common, data=self.heartbeat())]
        if what == "gone":
            return [make_event("device.offline", **common, data={"reason": "the probe left"})]
        raise PayloadError(f"unknown what {what!r}", adapter=NAME, device=dev)

    def zone(self, zone: Any) -> str:
        return str(zone)

    def heartbeat(self) -> dict[str, Any]:
        return {"interval_s": 60}


def declaration(base: Path, **changes: Any) -> Declaration:
    """The probe's conformance section, with its golden vectors recorded under ``base``."""
    write_vectors(base)
    data: dict[str, Any] = {
        "tenant": TENANT, "received": RECEIVED,
        "frames": [{"address": "probe/P-1", "payload": FRAMES["alarm"]},
                   {"address": "probe/P-1", "payload": FRAMES["battery"]}],
        "vectors": ["vectors/probe"],
        "heartbeat": {"frame": {"address": "probe/P-1", "payload": FRAMES["alive"]},
                      "interval_s": 60},
        "silence": {"address": "probe/P-1", "payload": FRAMES["gone"]},
        "zones": [{"frame": {"address": "probe/P-1", "payload": FRAMES["zone"]},
                   "zone": "012"}],
        "commands": {"device": "P-1"},
        "baseline_fps": 2000,
        **changes,
    }
    found = parse_declaration({"adapters": {NAME: data}}, NAME, base)
    assert found is not None
    return found


def write_vectors(base: Path) -> None:
    """The correct adapter's output for one good and one refused frame."""
    folder = base / "vectors" / NAME
    folder.mkdir(parents=True, exist_ok=True)
    frame = {"address": "probe/P-1", "payload": FRAMES["alarm"], "tenant": TENANT,
             "received": RECEIVED}
    raw = RawFrame(NAME, TENANT, "mqtt", frame["address"], FRAMES["alarm"].encode(),
                   datetime.fromisoformat(RECEIVED))
    events = [e.model_dump(mode="json") for e in ProbeAdapter().decode(raw)]
    (folder / "alarm.json").write_text(json.dumps({"frame": frame, "events": events}))
    bad = {**frame, "payload": FRAMES["no_dev"]}
    (folder / "no_dev.json").write_text(json.dumps({"frame": bad, "error": "dev is missing"}))


# --------------------------------------------------------------------------- broken, one per check


class WrongContract(ProbeAdapter):
    """Claims a contract range that excludes the running contract."""

    manifest: ClassVar[Manifest] = ProbeAdapter.manifest.model_copy(
        update={"contract": ">=0.1,<1"})


class AcceptsWithoutDevice(ProbeAdapter):
    """Gives no events, instead of refusing, for a frame without a device: the vector says
    it must be refused."""

    def decode(self, frame: RawFrame) -> list[Event]:
        if "dev" not in self.parse(frame):
            return []
        return super().decode(frame)


class InvalidBatteryEvent(ProbeAdapter):
    """Builds its battery event past the contract's validation: a priority it does not have."""

    def events(self, frame: RawFrame, body: dict[str, Any], dev: str,
               when: datetime) -> list[Event]:
        found = super().events(frame, body, dev, when)
        if body.get("what") == "battery":
            return [e.model_copy(update={"priority": "urgent"}) for e in found]
        return found


class CountingIds(ProbeAdapter):
    """Keeps a counter between decode calls and puts it into every id after the first."""

    def __init__(self, settings: Any = None) -> None:
        super().__init__(settings)
        self.calls = 0

    def decode(self, frame: RawFrame) -> list[Event]:
        self.calls += 1
        found = super().decode(frame)
        if self.calls == 1:
            return found
        return [e.model_copy(update={"id": event_id(e.id, str(self.calls))}) for e in found]


class UncaughtJson(ProbeAdapter):
    """Lets json.loads' error escape on a frame that is not JSON."""

    def parse(self, frame: RawFrame) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(frame.payload)
        if not isinstance(body, dict):
            raise PayloadError("not a JSON object", adapter=NAME)
        return body


class CommandCrashes(ProbeAdapter):
    """Raises a KeyError for a device it does not know instead of reporting the failure."""

    async def execute(self, command: Command) -> CommandResult:
        await asyncio.sleep(0)
        raise KeyError(command.address)


class SilentHeartbeat(ProbeAdapter):
    """Does not announce the interval its devices send heartbeats at."""

    def heartbeat(self) -> dict[str, Any]:
        return {}


class ZoneAsNumber(ProbeAdapter):
    """Turns zone "012" into "12": the alarm centre then gets another zone."""

    def zone(self, zone: Any) -> str:
        return str(int(zone))


class Slow(ProbeAdapter):
    """Takes 5 ms per frame (a blocking call in decode)."""

    def decode(self, frame: RawFrame) -> list[Event]:
        time.sleep(0.005)
        return super().decode(frame)


BROKEN: dict[str, tuple[type[ProbeAdapter], str]] = {
    "manifest": (WrongContract, f"contract range >=0.1,<1 excludes contract {CONTRACT_VERSION}"),
    "vectors": (AcceptsWithoutDevice, "expected PayloadError containing 'dev is missing'"),
    "events-valid": (InvalidBatteryEvent, "priority: 'urgent' is not one of"),
    "deterministic-ids": (CountingIds, "decoded again gave ids"),
    "total-decoding": (UncaughtJson, "decode raised JSONDecodeError"),
    "commands": (CommandCrashes, "execute('lock.unlock') raised KeyError"),
    "heartbeat": (SilentHeartbeat, "the heartbeat announces interval_s None, declared 60"),
    "zones": (ZoneAsNumber, "must give location.zone '012'"),
    "throughput": (Slow, "far below the declared baseline 2000"),
}
