"""Social alarm units and alarm panels as the demo and scenario tests run them.

:class:`ScaipResident` puts one SCAIP unit (:class:`simulators.scaip.ScaipUnit`,
real SIP over UDP or TCP) on a :class:`~simulators.runner.ScenarioRunner`: it
registers, sends heartbeats at its interval, and now and then raises an alarm
of the kinds a resident's unit raises (button, fall, bed exit, low battery),
sometimes cancelling it again. :class:`Dc09Panel` does the same for a DC-09
transmitter (SIA-DCS or Contact ID, clear or AES): NULL supervision polls,
medical/fire/burglary events and restorals.

Actions that wait on the network (an alarm held by the receiver until an
operator takes it) run as background tasks, so one held alarm never stalls
the rest of the scenario. The scenario is drawn from a seeded random stream,
so a seed gives the same life every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from gateway import Clock

from .dc09 import Dc09Transmitter
from .runner import ScenarioRunner
from .scaip import ScaipUnit

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 24 * HOUR

SCAIP_ALARMS = ("personal_button", "personal_button", "fall", "bed_exit", "low_battery")
"""What a resident's unit raises, weighted: buttons are the most common alarm."""


class _Background:
    """Tasks a simulator started and must finish or cancel when it stops."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("simulator task %s failed: %s", task.get_name(), task.exception())

    async def cancel(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for task in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class ScaipResident:
    """One resident's SCAIP unit living through ``days`` of scenario time."""

    family = "scaip"

    def __init__(self, unit: ScaipUnit, *, name: str, heartbeat_s: float, seed: int = 0,
                 alarms_per_day: float = 6.0) -> None:
        self.unit = unit
        self.name = name
        self.heartbeat_s = heartbeat_s
        self.alarms_per_day = alarms_per_day
        self.published = 0
        self.alarms = 0
        self._rng = random.Random(f"{seed}:{name}")
        self._bg = _Background()
        self._started = False

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        runner.at(0, self._start, f"{self.name} register")
        runner.every(self.heartbeat_s, self._heartbeat, start=self.heartbeat_s,
                     name=f"{self.name} heartbeat")
        t = self._rng.uniform(30, 120)  # the first alarm soon, so a short demo shows one
        while t < days * DAY:
            runner.at(t, self._alarm, f"{self.name} alarm")
            t += self._rng.expovariate(self.alarms_per_day / DAY)

    async def _start(self) -> None:
        await self.unit.start()
        if self.unit.dialect.register:
            await self.unit.register()
            self.published += 1
        self._started = True

    async def _heartbeat(self) -> None:
        if self._started and not self.unit.silent:
            self._bg.spawn(self._send(self.unit.heartbeat()), f"{self.name} PI")

    async def _alarm(self) -> None:
        if not self._started or self.unit.silent:
            return
        what = self._rng.choice(SCAIP_ALARMS)
        self.alarms += 1
        if what == "low_battery":
            self._bg.spawn(self._send(self.unit.event("low_battery")), f"{self.name} battery")
        elif self._rng.random() < 0.15:  # pressed by mistake, cancelled at once
            self._bg.spawn(self._alarm_then_cancel(what), f"{self.name} {what}+cancel")
        else:
            self._bg.spawn(self._send(self.unit.alarm(what)), f"{self.name} {what}")

    async def _alarm_then_cancel(self, what: str) -> None:
        await self._send(self.unit.event(what))
        await self._send(self.unit.event("cancel"))

    async def _send(self, exchange: Any) -> None:
        self.published += 1
        await exchange

    async def stop(self) -> None:
        await self._bg.cancel()
        with contextlib.suppress(Exception):
            await self.unit.stop()


DC09_SIA_EVENTS = (("MA", "Medical alarm"), ("FA", "Fire alarm"), ("BA", "Burglary"),
                   ("YT", "Battery trouble"))
DC09_RESTORE = {"FA": "FH", "BA": "BH", "YT": "YR"}


class Dc09Panel:
    """One DC-09 transmitter account: supervision polls and the occasional event."""

    family = "dc09"

    def __init__(self, tx: Dc09Transmitter, *, name: str, poll_s: float, seed: int = 0,
                 events_per_day: float = 4.0, cid: bool = False) -> None:
        self.tx = tx
        self.name = name
        self.poll_s = poll_s
        self.events_per_day = events_per_day
        self.cid = cid
        self.published = 0
        self._rng = random.Random(f"{seed}:{name}")
        self._bg = _Background()
        self._lock = asyncio.Lock()  # one transmission at a time, as a panel's line is

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        runner.every(self.poll_s, self._poll, start=1.0, name=f"{self.name} NULL")
        t = self._rng.uniform(45, 150)
        while t < days * DAY:
            runner.at(t, self._event, f"{self.name} event")
            t += self._rng.expovariate(self.events_per_day / DAY)

    async def _poll(self) -> None:
        self._bg.spawn(self._send(self.tx.poll), f"{self.name} NULL")

    async def _event(self) -> None:
        code, _ = self._rng.choice(DC09_SIA_EVENTS)
        zone = f"{self._rng.randrange(1, 9):03d}"
        if self.cid:
            cid = {"MA": "100", "FA": "110", "BA": "130", "YT": "302"}[code]
            self._bg.spawn(self._send(lambda: self.tx.send_cid(cid, zone=zone)),
                           f"{self.name} CID {cid}")
            return
        self._bg.spawn(self._send(lambda: self.tx.send_sia(code, zone)), f"{self.name} {code}")
        if code in DC09_RESTORE:
            restore = DC09_RESTORE[code]
            self._bg.spawn(self._send(lambda: self.tx.send_sia(restore, zone)),
                           f"{self.name} {restore}")

    async def _send(self, transmit: Any) -> None:
        async with self._lock:
            self.published += 1
            await transmit()

    async def stop(self) -> None:
        await self._bg.cancel()
        with contextlib.suppress(Exception):
            await self.tx.close()


def scaip_residents(ctx: Any, devices: list[Any], *, clock: Clock | None = None
                    ) -> list[ScaipResident]:
    """The demo factory: one unit per configured device, on the receiver's UDP port.

    Unit passwords come from the adapter instance's ``units`` settings, exactly
    what the receiver checks them against.
    """
    adapter = ctx.adapter
    ports: dict[str, int] = dict(getattr(adapter, "ports", {}) or {})
    transport = "udp" if "udp" in ports else "tcp"
    port = ports.get(transport) or int(ctx.settings.get("port", 5060))
    units: dict[str, Any] = ctx.settings.get("units", {}) or {}
    sims = []
    for i, dev in enumerate(devices):
        unit_cfg = units.get(dev.address, {}) or {}
        unit = ScaipUnit(dev.address, unit_cfg.get("password"), ("127.0.0.1", port),
                         clock=clock or ctx.clock, transport=transport,
                         mrs_in_200=bool(unit_cfg.get("mrs_in_200", False)),
                         seed=ctx.seed + i, hold_interval_s=5.0, hold_max_s=120.0)
        sims.append(ScaipResident(unit, name=f"{ctx.tenant}/{dev.address}",
                                  heartbeat_s=float(dev.heartbeat_s or 300), seed=ctx.seed))
    return sims


def dc09_panels(ctx: Any, devices: list[Any], *, clock: Clock | None = None) -> list[Dc09Panel]:
    """The demo factory: one transmitter per configured account, over TCP."""
    adapter = ctx.adapter
    address = getattr(adapter, "tcp_address", None)
    port = address[1] if address else int(ctx.settings.get("tcp_port") or 0)
    accounts = {a["account"]: a for a in ctx.settings.get("accounts", [])}
    sims = []
    for i, dev in enumerate(devices):
        acct = accounts.get(dev.address, {})
        key = acct.get("key")
        key_bytes = None
        if key:
            key_bytes = key.encode() if acct.get("key_encoding") == "ascii" else \
                bytes.fromhex(key)
        tx = Dc09Transmitter("127.0.0.1", port, account=dev.address, transport="tcp",
                             key=key_bytes, clock=clock or ctx.clock, ack_timeout=5.0,
                             retries=1)
        sims.append(Dc09Panel(tx, name=f"{ctx.tenant}/{dev.address}",
                              poll_s=float(dev.heartbeat_s or 600), seed=ctx.seed,
                              cid=i % 2 == 1))
    return sims
