"""Vaktaren camera units on an MQTT broker, as ``contracts/vendors/vaktaren.md`` describes them.

Each unit listens on ``<base>/<unit>/cmd`` and answers every command on
``<base>/<unit>/ack`` (``{"req", "ok"}``, or ``"ok": false`` with ``"error"``:
``busy``, ``offline``, ``no_session``, ``bad_command``). It reports on
``<base>/<unit>/event`` with a per-unit ``seq`` and ``ts`` in epoch
milliseconds: ``session_start``, ``session_end`` (``dur_s``, ``end`` = ``cmd`` |
``max`` | ``link``, and ``why`` echoed from a stop command), ``privacy``
(``covered`` outside sessions, ``live`` inside), ``fault`` and ``alive``.

A start command carries a single-use token; the unit admits one viewer with it
at the relay until ``token_ttl_s`` passes (:meth:`VaktarenUnits.open_view`
plays the relay). The night script is :mod:`simulators.cameras_night`, the same
one the Ugglan cloud runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway import Clock, MqttClient, MqttMessage

from .cameras_night import CameraNight
from .runner import ScenarioRunner

log = logging.getLogger(__name__)

FAMILY = "vaktaren"


@dataclass
class _Unit:
    name: str
    seq: int = 0
    offline: bool = False
    session: dict[str, Any] | None = None
    timer: asyncio.Task[None] | None = field(default=None, repr=False)


class VaktarenUnits:
    """The Vaktaren units of one site, connected through any MQTT client."""

    family = FAMILY

    def __init__(self, mqtt: MqttClient, clock: Clock, units: list[str], *,
                 base_topic: str = "vaktaren", name: str = "vaktaren", seed: int = 0,
                 heartbeat_s: float = 600.0, enforce_max: bool = True) -> None:
        self.mqtt = mqtt
        self.clock = clock
        self.base = base_topic.rstrip("/")
        self.name = name
        self.seed = seed
        self.heartbeat_s = heartbeat_s
        self.enforce_max = enforce_max
        self.units = {u: _Unit(u) for u in units}
        self.cameras = list(units)
        self.published = 0
        self.opened_views = 0
        self._subscribed = False

    async def start(self) -> None:
        if not self._subscribed:
            await self.mqtt.subscribe(f"{self.base}/+/cmd", self._on_command, qos=1)
            self._subscribed = True

    async def stop(self) -> None:
        for unit in self.units.values():
            if unit.timer is not None:
                unit.timer.cancel()

    # ------------------------------------------------------------------ publishing

    async def _report(self, unit: _Unit, ev: str, **fields: Any) -> None:
        unit.seq += 1
        ts = int(self.clock.now().timestamp() * 1000)
        body = {"seq": unit.seq, "ts": ts, "ev": ev, **fields}
        await self.mqtt.publish(f"{self.base}/{unit.name}/event", json.dumps(body), qos=1)
        self.published += 1

    async def _ack(self, unit: str, req: Any, ok: bool, error: str | None = None) -> None:
        body: dict[str, Any] = {"req": req, "ok": ok}
        if error:
            body["error"] = error
        await self.mqtt.publish(f"{self.base}/{unit}/ack", json.dumps(body), qos=1)

    # ------------------------------------------------------------------ commands

    async def _on_command(self, msg: MqttMessage) -> None:
        parts = msg.topic.split("/")
        unit = self.units.get(parts[-2]) if len(parts) >= 2 else None
        try:
            cmd = json.loads(msg.payload)
        except ValueError:
            return
        if unit is None or not isinstance(cmd, dict):
            return
        req, op = cmd.get("req"), cmd.get("op")
        if op == "start":
            await self._start(unit, req, cmd)
        elif op == "stop":
            s = unit.session
            if s is None or s["session"] != cmd.get("session"):
                await self._ack(unit.name, req, False, "no_session")
                return
            await self._ack(unit.name, req, True)
            why = cmd.get("why")
            await self._end(unit, "cmd", why if isinstance(why, str) and why else None)
        else:
            await self._ack(unit.name, req, False, "bad_command")

    async def _start(self, unit: _Unit, req: Any, cmd: dict[str, Any]) -> None:
        session, max_s, token = cmd.get("session"), cmd.get("max_s"), cmd.get("token")
        if not (isinstance(session, str) and isinstance(max_s, int) and isinstance(token, str)):
            await self._ack(unit.name, req, False, "bad_command")
            return
        if unit.offline:
            await self._ack(unit.name, req, False, "offline")
            return
        if unit.session is not None:
            await self._ack(unit.name, req, False, "busy")
            return
        now = self.clock.now()
        ttl = cmd.get("token_ttl_s") if isinstance(cmd.get("token_ttl_s"), int) else 30
        unit.session = {"session": session, "viewer": cmd.get("viewer"), "started": now,
                        "token": token, "token_expires": now + timedelta(seconds=ttl)}
        await self._ack(unit.name, req, True)
        await self._report(unit, "session_start", session=session, viewer=cmd.get("viewer"),
                           max_s=max_s)
        await self._report(unit, "privacy", state="live", session=session)
        if self.enforce_max:
            unit.timer = asyncio.create_task(self._max_timer(unit, session, max_s),
                                             name=f"{self.name}-{unit.name}-max")

    async def _max_timer(self, unit: _Unit, session: str, max_s: int) -> None:
        await self.clock.sleep(max_s)
        if unit.session is not None and unit.session["session"] == session:
            unit.timer = None
            await self._end(unit, "max", None)

    async def _end(self, unit: _Unit, end: str, why: str | None) -> None:
        s, unit.session = unit.session, None
        if s is None:
            return
        if unit.timer is not None and unit.timer is not asyncio.current_task():
            unit.timer.cancel()
        unit.timer = None
        started: datetime = s["started"]
        dur = round((self.clock.now() - started).total_seconds(), 3)
        fields: dict[str, Any] = {"session": s["session"], "viewer": s["viewer"],
                                  "dur_s": dur, "end": end}
        if why:
            fields["why"] = why
        await self._report(unit, "session_end", **fields)
        await self._report(unit, "privacy", state="covered")

    def open_view(self, unit: str, token: str) -> bool:
        """The relay admitting a viewer: once per token, within its time."""
        s = self.units[unit].session
        if s is None or s["token"] != token or self.clock.now() > s["token_expires"]:
            return False
        s["token"] = None  # single use
        self.opened_views += 1
        return True

    # ------------------------------------------------------------------ unit life

    async def heartbeat(self, camera: str) -> None:
        unit = self.units[camera]
        if not unit.offline:
            await self._report(unit, "alive", every_s=int(self.heartbeat_s))

    async def privacy_idle(self, camera: str) -> None:
        await self._report(self.units[camera], "privacy", state="covered")

    async def fault(self, camera: str, active: bool) -> None:
        unit = self.units[camera]
        if active and unit.session is not None:
            await self._end(unit, "link", None)
        unit.offline = active
        # a unit that lost its link reports the fault once it is back; the demo's
        # broker sees it at once, which is what a unit with a local queue does too
        await self._report(unit, "fault", cat="net", active=active, code="NET-04",
                           text="camera lost its network link")

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        runner.at(runner.now, self.start, f"{self.name} subscribe")
        CameraNight(self, self.cameras, seed=self.seed, heartbeat_s=self.heartbeat_s,
                    name=self.name).schedule(runner, days=days)


def vaktaren_family(ctx: Any, devices: list[Any]) -> list[Any]:
    """Simulators for the ``vaktaren`` adapter instance: the units and a night patrol."""
    from .cameras_cloud import DEMO_STAFF
    from .cameras_patrol import NightPatrol

    settings = ctx.settings
    units = VaktarenUnits(ctx.mqtt, ctx.clock, sorted(d.address for d in devices),
                          base_topic=str(settings.get("base_topic", "vaktaren")),
                          name=f"vaktaren/{ctx.tenant}", seed=ctx.seed)
    residents = sorted({d.resident for d in devices if d.resident})
    patrol = NightPatrol(
        ctx.clock, lambda: settings.get("navet_url") or getattr(ctx.adapter, "navet_url", None),
        tenant=ctx.tenant, staff=DEMO_STAFF, residents=residents, seed=ctx.seed,
        headers=ctx.api_headers, name=f"patrol/{ctx.tenant}/vaktaren")
    return [units, patrol]


@contextlib.asynccontextmanager
async def conformance_units(host: Any) -> AsyncIterator[VaktarenUnits]:
    """Vaktaren unit ``vk-0302`` of site ``sala`` on the conformance kit's host (its broker
    and clock), acknowledging starts and stops: the kit's round trip
    (``plugins/cameras/conformance.json``)."""
    client = host.broker.client("vaktaren-units")
    await client.connect()
    units = VaktarenUnits(client, host.clock, ["vk-0302"], base_topic="vaktaren/sala")
    await units.start()
    try:
        yield units
    finally:
        await units.stop()
        await client.disconnect()
