"""A Låsbro MQTT bridge, simulated: the locks of one site and their command topic.

The bridge publishes ``online`` (retained) on ``<base>/<bridge>/status``, one
JSON event per happening on ``<base>/<bridge>/<lock>/event``, takes commands on
``<base>/<bridge>/<lock>/cmd`` and answers each on ``.../result`` before the
lock reports what it did (contracts/vendors/lasbro.md). ``offline()`` is the
bridge losing its connection (its last will says ``offline``).

:class:`LasbroSimulator` is the demo family: one bridge per tenant for the
configured doors, with battery reports, a wrong PIN now and then, and
auto-relock after a remote unlock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from gateway import Clock, MqttClient, MqttMessage

from .runner import ScenarioRunner

FAMILY = "lasbro"


@dataclass
class BridgeLock:
    id: str
    locked: bool = True
    battery: int = 90
    jammed: bool = False
    seq: int = 0
    model: str = "LB-200"


@dataclass
class LasbroBridge:
    mqtt: MqttClient
    clock: Clock
    bridge: str = "hub1"
    base_topic: str = "lasbro"
    locks: dict[str, BridgeLock] = field(default_factory=dict)
    relock_s: float | None = None
    report_delay_s: float = 0.0
    published: int = 0
    commands: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._answered: dict[str, dict[str, Any]] = {}

    def topic(self, lock: str, leaf: str) -> str:
        return f"{self.base_topic}/{self.bridge}/{lock}/{leaf}"

    async def start(self) -> None:
        if not self.mqtt.connected:
            await self.mqtt.connect()
        await self.mqtt.subscribe(f"{self.base_topic}/{self.bridge}/+/cmd", self._on_cmd, qos=1)
        await self.status("online")

    async def status(self, state: str) -> None:
        await self.mqtt.publish(f"{self.base_topic}/{self.bridge}/status", state, qos=1,
                                retain=True)
        self.published += 1

    async def offline(self) -> None:
        await self.status("offline")

    async def _on_cmd(self, msg: MqttMessage) -> None:
        lock_id = msg.topic.split("/")[-2]
        try:
            cmd = json.loads(msg.payload)
            cid = str(cmd["id"])
            op = cmd["op"]
        except (ValueError, KeyError, TypeError):
            return  # a real bridge ignores garbage on its command topic
        if cid in self._answered:  # QoS 1 redelivery: answer again, do not act twice
            await self._publish(self.topic(lock_id, "result"), self._answered[cid])
            return
        lock = self.locks.get(lock_id)
        if lock is None:
            result = {"id": cid, "ok": False, "err": "unknown_lock", "msg": "no such lock"}
        elif lock.jammed:
            result = {"id": cid, "ok": False, "err": "jammed", "msg": "the bolt is jammed"}
        elif op not in ("unlock", "lock"):
            result = {"id": cid, "ok": False, "err": "bad_op", "msg": f"unknown op {op!r}"}
        else:
            result = {"id": cid, "ok": True}
        self._answered[cid] = result
        self.commands.append(cmd)
        await self._publish(self.topic(lock_id, "result"), result)
        if result["ok"] and lock is not None:
            self._later(self.report_delay_s,
                        self.happen(lock_id, op, src="remote", uid=cmd.get("uid"), ref=cid))
            if op == "unlock" and self.relock_s is not None:
                self._later(self.relock_s, self._relock(lock))

    async def _relock(self, lock: BridgeLock) -> None:
        if not lock.locked:
            await self.happen(lock.id, "lock", src="auto")

    def _later(self, seconds: float, coro: Any) -> None:
        async def run() -> None:
            try:
                if seconds > 0:
                    await self.clock.sleep(seconds)
            except asyncio.CancelledError:
                coro.close()  # stopped before it was due: it never runs
                raise
            await coro

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def happen(self, lock_id: str, evt: str, **fields: Any) -> dict[str, Any]:
        """Something happens at a lock: the bridge publishes it."""
        lock = self.locks[lock_id]
        if evt == "unlock":
            lock.locked = False
        elif evt == "lock":
            lock.locked = True
        elif evt == "jam":
            lock.jammed = True
        elif evt == "batt":
            lock.battery = int(fields.get("lvl", lock.battery))
        lock.seq += 1
        body = {"seq": lock.seq, "ts": round(self.clock.now().timestamp(), 3), "evt": evt,
                "model": lock.model, **{k: v for k, v in fields.items() if v is not None}}
        await self._publish(self.topic(lock_id, "event"), body)
        return body

    async def _publish(self, topic: str, body: dict[str, Any]) -> None:
        await self.mqtt.publish(topic, json.dumps(body, separators=(",", ":")), qos=1)
        self.published += 1


class LasbroSimulator:
    """The demo's Låsbro bridge for one tenant."""

    family = FAMILY

    def __init__(self, ctx: Any, devices: list[Any]) -> None:
        self.name = f"{ctx.tenant}/lasbro"
        self.rng = random.Random(f"{ctx.seed}:{self.name}")
        locks = {d.address: BridgeLock(d.address, battery=self.rng.randint(30, 100))
                 for d in devices if d.kind == "door_lock"}
        self.bridge = LasbroBridge(ctx.mqtt, ctx.clock,
                                   bridge=str(ctx.settings.get("bridge", "hub1")),
                                   base_topic=str(ctx.settings.get("base_topic", "lasbro")),
                                   locks=locks, relock_s=60.0)

    @property
    def published(self) -> int:
        return self.bridge.published

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        start = runner.now

        async def up() -> None:
            await self.bridge.start()

        runner.at(start, up, f"{self.name} bridge up")
        for day in range(days):
            t0 = start + day * 86_400.0
            for i, lock in enumerate(sorted(self.bridge.locks)):
                runner.at(t0 + 30 + 20 * i, self._battery(lock), f"{self.name} {lock} battery")
                if self.rng.random() < 0.5:
                    runner.at(t0 + 4 * 3600 + 90 * i, self._wrong_pin(lock),
                              f"{self.name} {lock} wrong pin")

    def _battery(self, lock: str) -> Any:
        async def act() -> None:
            level = max(5, self.bridge.locks[lock].battery - self.rng.randint(0, 3))
            await self.bridge.happen(lock, "batt", lvl=level)
        return act

    def _wrong_pin(self, lock: str) -> Any:
        async def act() -> None:
            await self.bridge.happen(lock, "deny", src="pin", why="bad_pin")
        return act


@contextlib.asynccontextmanager
async def conformance_bridge(host: Any) -> AsyncIterator[LasbroBridge]:
    """A Låsbro bridge with lock ``door-12`` on the conformance kit's host (its broker and
    clock), answering commands: the kit's round trip (``plugins/locks/conformance.json``)."""
    bridge = LasbroBridge(host.broker.client("lasbro-bridge"), host.clock,
                          locks={"door-12": BridgeLock("door-12")})
    await bridge.start()
    try:
        yield bridge
    finally:
        await bridge.mqtt.disconnect()
