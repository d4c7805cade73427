"""A flat's Zigbee sensors as a Zigbee2MQTT bridge would publish them.

Each sensor publishes its whole state as JSON on ``<base_topic>/<friendly_name>``
(with ``battery``, ``voltage``, ``linkquality`` and an ISO 8601 ``last_seen``,
i.e. Zigbee2MQTT with ``advanced.last_seen: ISO_8601``) whenever something
changes and on a periodic check-in, plus ``{"state": "online"}`` on
``<base_topic>/<friendly_name>/availability`` now and then.

A sensor's role comes from the suffix of its friendly name, the convention the
demo municipality uses: ``r1001_bed`` (bed occupancy), ``_door`` (bedroom door
contact), ``_motion`` (hall motion), ``_leak`` (water leak), ``_fall`` (fall
sensor). The night script: an evening in the flat, to bed, up once in the
night (door, hall), back to bed, up in the morning; some flats get a short
water leak. Times carry seeded jitter, so runs with one seed are identical.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway import Clock, MqttClient

from .runner import ScenarioRunner

FAMILY = "zigbee2mqtt"
DAY = 24 * 3600.0

ROLE_READING: dict[str, tuple[str, bool]] = {
    "bed": ("occupancy", False),
    "door": ("contact", True),  # contact true = door closed
    "motion": ("occupancy", False),
    "leak": ("water_leak", False),
    "fall": ("fall", False),
}
"""Role -> (Zigbee2MQTT expose, resting value)."""


def role_of(friendly_name: str) -> str | None:
    role = friendly_name.rsplit("_", 1)[-1]
    return role if role in ROLE_READING else None


@dataclass
class SimSensor:
    name: str
    role: str
    battery: float
    drain_per_h: float
    link: int
    state: dict[str, Any] = field(default_factory=dict)
    last_stamp: datetime | None = None
    drained_at: datetime | None = None


class Zigbee2MqttFlat:
    """The sensors of one resident's flat, publishing through any MQTT client."""

    family = FAMILY

    def __init__(
        self,
        mqtt: MqttClient,
        clock: Clock,
        sensors: list[str],
        *,
        base_topic: str = "zigbee2mqtt",
        name: str = "flat",
        seed: int = 0,
        checkin_s: float = 1200.0,
        availability_s: float = 3 * 3600.0,
        leak: bool | None = None,
    ) -> None:
        self.mqtt = mqtt
        self.clock = clock
        self.base_topic = base_topic
        self.name = name
        self.rng = random.Random(f"{seed}:{name}")
        self.checkin_s = checkin_s
        self.availability_s = availability_s
        self.leak = self.rng.random() < 0.3 if leak is None else leak
        self.published = 0
        self.sensors: dict[str, SimSensor] = {}
        for friendly in sensors:
            role = role_of(friendly)
            if role is None:
                continue
            expose, rest = ROLE_READING[role]
            self.sensors[role] = SimSensor(
                name=friendly, role=role,
                battery=float(self.rng.randint(22, 100)),
                drain_per_h=self.rng.uniform(0.02, 0.2),
                link=self.rng.randint(40, 200),
                state={expose: rest},
            )

    # ------------------------------------------------------------------ publishing

    def _stamp(self, sensor: SimSensor) -> str:
        """An ISO 8601 ``last_seen``, strictly increasing per sensor (ids stay distinct)."""
        now = self.clock.now()
        if sensor.last_stamp is not None and now <= sensor.last_stamp:
            now = sensor.last_stamp + timedelta(milliseconds=1)
        sensor.last_stamp = now
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _drain(self, sensor: SimSensor) -> None:
        now = self.clock.now()
        if sensor.drained_at is not None:
            hours = (now - sensor.drained_at).total_seconds() / 3600
            sensor.battery = max(0.0, sensor.battery - hours * sensor.drain_per_h)
        sensor.drained_at = now

    async def report(self, role: str, **changes: Any) -> None:
        """Publish ``role``'s full state after applying ``changes`` (no-op if absent)."""
        sensor = self.sensors.get(role)
        if sensor is None:
            return
        sensor.state.update(changes)
        self._drain(sensor)
        body = {
            **sensor.state,
            "battery": round(sensor.battery),
            "voltage": int(2500 + 7 * sensor.battery),
            "linkquality": max(0, min(255, sensor.link + self.rng.randint(-15, 15))),
            "last_seen": self._stamp(sensor),
        }
        await self.mqtt.publish(f"{self.base_topic}/{sensor.name}", json.dumps(body), qos=1)
        self.published += 1

    async def available(self, role: str) -> None:
        sensor = self.sensors.get(role)
        if sensor is None:
            return
        await self.mqtt.publish(f"{self.base_topic}/{sensor.name}/availability",
                                json.dumps({"state": "online"}), qos=1)
        self.published += 1

    # ------------------------------------------------------------------ the script

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        """Put ``days`` nights of this flat on ``runner``, starting at its current time."""
        start = runner.now
        for role in self.sensors:
            runner.at(start, _call(self.available, role), f"{self.name} {role} online")
            runner.at(start, _call(self.report, role), f"{self.name} {role} first state")
        for day in range(days):
            self._night(runner, start + day * DAY)
        for i, role in enumerate(self.sensors):
            offset = 60.0 * (i + 1) + self.rng.uniform(0, 60)
            runner.every(self.checkin_s, _call(self.report, role),
                         start=start + self.checkin_s + offset, name=f"{self.name} {role} check-in")
            runner.every(self.availability_s, _call(self.available, role),
                         start=start + self.availability_s + offset,
                         name=f"{self.name} {role} availability")

    def _night(self, runner: ScenarioRunner, t0: float) -> None:
        """One evening-to-morning cycle; ``t0`` is about nine in the evening."""
        j = self.rng.uniform
        steps: list[tuple[float, str, dict[str, Any]]] = [
            (60 + j(0, 30), "motion", {"occupancy": True}),         # evening in the hall
            (150 + j(0, 30), "motion", {"occupancy": False}),
            (240 + j(0, 30), "door", {"contact": False}),           # into the bedroom
            (275 + j(0, 30), "door", {"contact": True}),
            (600 + j(0, 120), "bed", {"occupancy": True}),          # goes to bed
        ]
        up = 3 * 3600 + j(0, 3600)                                  # gets up in the night
        steps += [
            (up, "bed", {"occupancy": False}),
            (up + 20, "door", {"contact": False}),
            (up + 40, "motion", {"occupancy": True}),
            (up + 400, "motion", {"occupancy": False}),
            (up + 430, "door", {"contact": True}),
            (up + 500, "bed", {"occupancy": True}),                 # back to bed
        ]
        if self.leak:
            leak = 5 * 3600 + j(0, 1800)
            steps += [(leak, "leak", {"water_leak": True}),
                      (leak + 600, "leak", {"water_leak": False})]
        morning = 10 * 3600 + j(0, 1800)                            # about seven
        steps += [
            (morning, "bed", {"occupancy": False}),
            (morning + 30, "door", {"contact": False}),
            (morning + 60, "motion", {"occupancy": True}),
            (morning + 900, "motion", {"occupancy": False}),
        ]
        for at, role, change in steps:
            if role in self.sensors:
                runner.at(t0 + at, _call(self.report, role, **change),
                          f"{self.name} {role} {change}")


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    async def action() -> None:
        await fn(*args, **kwargs)

    return action
