"""A Medikub dispenser: JSON on its own MQTT topics, with its own heartbeat.

As contracts/vendors/medikub.md describes the device: on connecting it
publishes ``{"online": true, "ts": <connect time>}`` retained on
``<base>/<serial>/conn`` (its last will carries ``"online": false`` and the same
``ts``), a heartbeat on ``<base>/<serial>/hb`` at every check-in, and each event
on ``<base>/<serial>/evt`` with an event counter ``seq`` that never repeats.
The script is a :class:`simulators.medication_day.DoseScript`, the same one the
cloud simulator can play.
"""

from __future__ import annotations

import json
from typing import Any

from gateway import Clock, MqttClient

from .medication_day import CHECKIN_S, DoseScript, Happening
from .runner import ScenarioRunner

FAMILY = "medikub"
STEP_EV = {"due": "due", "dispensed": "out", "taken": "taken", "missed": "skip"}
FAULT_CODES = {"mains": 10, "jam": 20, "network": 30, "hatch": 40, "empty": 50}


class MedikubDispenser:
    """One dispenser publishing through any MQTT client."""

    family = FAMILY

    def __init__(self, mqtt: MqttClient, clock: Clock, serial: str, script: DoseScript, *,
                 base_topic: str = "medikub", name: str = "", first_seq: int = 1) -> None:
        self.mqtt = mqtt
        self.clock = clock
        self.serial = serial
        self.script = script
        self.base = f"{base_topic}/{serial}"
        self.name = name or serial
        self.seq = first_seq
        self.published = 0
        self.connected_at: int | None = None
        self._scheduled: dict[str, int] = {}

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        start = runner.now
        runner.at(start, self.connect, f"{self.name} connect")
        for h in self.script.happenings(start, days=days):
            runner.at(h.at, _bind(self.happen, h), f"{self.name} {h.what}")

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    async def connect(self) -> None:
        self.connected_at = self._now()
        await self._pub("conn", {"online": True, "ts": self.connected_at}, retain=True)

    async def power_cut(self) -> None:
        """What the broker publishes from the dispenser's last will when it drops off."""
        ts = self.connected_at if self.connected_at is not None else self._now()
        await self._pub("conn", {"online": False, "ts": ts}, retain=True)

    async def happen(self, h: Happening) -> None:
        now = self._now()
        if h.what == "checkin":
            await self._pub("hb", {"ts": now, "every": CHECKIN_S, "fw": "2.4.1"}, qos=0)
            return
        body: dict[str, Any]
        if h.what in STEP_EV:
            assert h.pouch is not None
            if h.what == "due":
                self._scheduled[h.pouch] = now
            at = self._scheduled.setdefault(h.pouch, now)
            body = {"ev": STEP_EV[h.what], "pouch": h.pouch, "at": at, "lbl": h.label}
        elif h.what == "refill":
            body = {"ev": "low", "left": h.remaining}
        elif h.what == "fault":
            body = {"ev": "err", "code": FAULT_CODES.get(h.fault or "", 99), "on": h.active}
        elif h.what == "battery":
            body = {"ev": "bat", "pct": h.level}
        else:
            raise ValueError(f"unknown happening {h.what!r}")
        await self._pub("evt", {"seq": self.seq, "ts": now, **body})
        self.seq += 1

    async def _pub(self, leaf: str, body: dict[str, Any], *, qos: int = 1,
                   retain: bool = False) -> None:
        await self.mqtt.publish(f"{self.base}/{leaf}", json.dumps(body), qos=qos, retain=retain)
        self.published += 1


def _bind(fn: Any, *args: Any) -> Any:
    async def action() -> None:
        await fn(*args)

    return action


def dispensers(ctx: Any, devices: list[Any]) -> list[MedikubDispenser]:
    """The registry factory: one simulated dispenser per configured Medikub device.

    The first (by address) misses its first dose, so a demo always shows one.
    """
    base = str(ctx.settings.get("base_topic", "medikub"))
    out = []
    for i, dev in enumerate(sorted(devices, key=lambda d: d.address)):
        script = DoseScript(dev.address, seed=ctx.seed, misses_first=i == 0)
        out.append(MedikubDispenser(ctx.mqtt, ctx.clock, dev.address, script, base_topic=base,
                                    name=f"{ctx.tenant}/{dev.address}"))
    return out
