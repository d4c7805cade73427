"""A simulated night, 21:00 -> 07:30 local time, on a fake clock.

One flat: Zigbee sensors (bed, front door, hall motion, kitchen leak) through the in-memory
MQTT broker, a SCAIP social alarm unit speaking real SIP over UDP on localhost, and a DC-09
panel speaking real TCP on localhost, all into one gateway running the built-in care rules.
The script (local time, Europe/Stockholm):

- 21:00 everything starts; the SCAIP unit registers and sends heartbeats every 15 min
  (interval agreed through hbi), the panel polls every 30 min, the sensors check in every
  20 min. 21:05 the resident moves in the hall, 22:10 goes to bed.
- 00:40 up to the toilet, back in bed 00:48: within 15 min, no alarm.
- 01:00 the SCAIP unit's last heartbeat; it falls silent. 01:37:30 (2.5 x 15 min) Navet raises
  technical.unit_silent; the operator acknowledges at 01:38.
- 02:45 out of bed; 02:50 the front door opens: passive.door_at_night at once, acknowledged
  at 02:51. Nobody acknowledges the bed exit: passive.bed_exit at 03:00 (15 min), escalated to
  team-norr at 03:02 and on-call at 03:04. 03:30 back in bed: an update on the alarm.
- 04:00 the unit is back: device.online (silent 3 h) and its silent alarm closed by Navet.
- 04:30 the panel reports mains trouble (SIA AT), 04:31 restored (AR): raised, closed.
- 05:00 kitchen leak, acknowledged 05:01. 05:30 the unit reports mains lost (SCAIP stc 85),
  05:31 restored (stc 86): raised, closed.
- 07:05 up for the day (after the night window): no alarm.

Every action happens on a whole minute and the clock moves a minute at a time, waiting (in
real time, bounded) for network peers before it moves again, so every event carries the
scripted time exactly.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from gateway import Actor, FakeClock
from gateway.core.gateway import Gateway
from gateway.core.model import EventBase
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators import ScenarioRunner, Zigbee2MqttFlat
from simulators.dc09 import Dc09Transmitter
from simulators.scaip import ScaipUnit

TENANT = "vasteras"
STHLM = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 1, 14, 21, 0, tzinfo=STHLM).astimezone(UTC)  # a Wednesday evening
BASE = "zigbee2mqtt/vasteras"
SENSORS = {"bed": "Sovrum", "door": "Entrédörr", "motion": "Hall", "leak": "Kök"}
UNIT, PANEL = "scaip:unit1", "dc09:4321"
OPERATOR = Actor(kind="operator", id="op-1")


def at(hh: int, mm: int) -> float:
    """Scenario seconds of a local wall-clock time this night."""
    day = 14 if hh >= 21 else 15
    local = datetime(2026, 1, day, hh, mm, tzinfo=STHLM).astimezone(UTC)
    return (local - START).total_seconds()


END = at(7, 30)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.yaml"
    devices: list[dict[str, Any]] = [
        {"adapter": "zigbee2mqtt", "address": f"r1001_{role}", "kind": "passive_sensor",
         "resident": "r-1001", "heartbeat_s": 3600, "location": place}
        for role, place in SENSORS.items()]
    devices += [
        {"adapter": "scaip", "address": "unit1", "kind": "social_alarm", "resident": "r-1001",
         "location": "Hall"},  # its interval comes from the protocol (hbi)
        {"adapter": "dc09", "address": "4321", "kind": "alarm_panel", "resident": "r-1001",
         "heartbeat_s": 1800},
    ]
    care.write_text(yaml.safe_dump({"tenants": [{
        "id": TENANT, "name": "Västerås stad", "timezone": "Europe/Stockholm",
        "alarms": {"receivers": ["centre", "team-norr", "on-call"], "ack_deadline_s": 120},
        "residents": [{"id": "r-1001", "label": "Lgh 1102"}],
        "devices": devices,
        "passive": [{"resident": "r-1001", "exit_return_s": 900}],
    }]}, allow_unicode=True), encoding="utf-8")
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        adapters=[
            {"adapter": "zigbee2mqtt", "tenant": TENANT, "settings": {"base_topic": BASE}},
            {"adapter": "scaip", "tenant": TENANT, "settings": {
                "host": "127.0.0.1", "port": 0, "transports": ["udp"],
                "units": {"unit1": {"password": "s3cret", "hbi": 15}}}},
            {"adapter": "dc09", "tenant": TENANT, "settings": {
                "host": "127.0.0.1", "tcp_port": 0, "accounts": [{"account": "4321"}]}},
        ],
    )


@dataclass
class Night:
    gw: Gateway
    clock: FakeClock
    broker: MemoryBroker
    runner: ScenarioRunner
    flat: Zigbee2MqttFlat
    unit: ScaipUnit
    panel: Dc09Transmitter
    done: bool = False  # the runner reached the end of the night

    def do(self, hh: int, mm: int, action: Callable[[], Awaitable[Any] | None], name: str) -> None:
        async def run() -> None:
            result = action()
            if inspect.isawaitable(result):
                await result

        self.runner.at(at(hh, mm), run, name)

    def sensor(self, hh: int, mm: int, role: str, **change: Any) -> None:
        self.do(hh, mm, lambda: self.flat.report(role, **change), f"{role} {change}")

    async def acknowledge(self, kind: str) -> None:
        """The operator acknowledges the raised alarm of ``kind`` once it is on screen (a timer
        that fired earlier in the same clock step may still be writing it: wait, bounded)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while not (alarms := [a for a in await self.gw.alarms.open_alarms(TENANT)
                              if a.kind == kind and a.state == "raised"]):
            assert loop.time() < deadline, f"no raised {kind} alarm to acknowledge"
            await asyncio.sleep(0.005)
        [alarm] = alarms
        await self.gw.alarms.acknowledge(TENANT, alarm.id, OPERATOR)

    async def settle(self) -> None:
        """Wait until peers are done with what this minute started and the rules saw it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not self.runner.sleeping and self.runner.pending and not self.done:
            assert loop.time() < deadline, "a simulator action did not finish"
            await asyncio.sleep(0.001)
        for client in self.broker.clients:
            await client.drain()
        assert self.gw.rules is not None
        for _ in range(2):
            await self.gw.store.write(lambda conn: None)  # everything queued is committed
            for _ in range(20):
                await asyncio.sleep(0)
            await self.gw.rules.drain()


@pytest.fixture
async def night(settings: Settings, clock: FakeClock,
                broker: MemoryBroker) -> AsyncIterator[Night]:
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    flat = Zigbee2MqttFlat(broker.client("z2m"), clock, [f"r1001_{r}" for r in SENSORS],
                           base_topic=BASE, name="r-1001", seed=7, leak=False)
    for sensor in flat.sensors.values():
        sensor.battery, sensor.drain_per_h = 90.0, 0.1  # no low-battery alarms tonight
    await flat.mqtt.connect()
    unit = ScaipUnit("unit1", "s3cret", ("127.0.0.1", gw.adapter_instances.by_adapter("scaip").ports["udp"]),
                     clock=clock, transport="udp")
    await unit.start()
    tcp = gw.adapter_instances.by_adapter("dc09").tcp_address
    panel = Dc09Transmitter(tcp[0], tcp[1], account="4321", transport="tcp", clock=clock,
                            ack_timeout=5.0, retry_delay_s=0)
    try:
        yield Night(gw, clock, broker, ScenarioRunner(clock), flat, unit, panel)
    finally:
        await panel.close()
        await unit.stop()
        await gw.stop()


def script(n: Night) -> None:
    """The night, as the devices and the operator live it."""
    r = n.runner
    for i, role in enumerate(SENSORS):
        n.do(21, 0, lambda role=role: n.flat.available(role), f"{role} online")
        n.sensor(21, 0, role)
        r.every(1200, lambda role=role: n.flat.report(role), start=1200 + 60 * i,
                name=f"{role} check-in")
    n.do(21, 0, n.unit.register, "unit registers")

    async def heartbeat() -> None:
        if not n.unit.silent:
            await n.unit.heartbeat(offer_hbi=True)

    r.every(900, heartbeat, name="unit heartbeat")
    r.every(1800, n.panel.poll, name="panel poll")

    n.sensor(21, 5, "motion", occupancy=True)
    n.sensor(21, 7, "motion", occupancy=False)
    n.sensor(22, 10, "bed", occupancy=True)
    n.sensor(0, 40, "bed", occupancy=False)  # to the toilet ...
    n.sensor(0, 41, "motion", occupancy=True)
    n.sensor(0, 45, "motion", occupancy=False)
    n.sensor(0, 48, "bed", occupancy=True)  # ... and back within 15 min
    n.do(1, 5, n.unit.go_silent, "unit falls silent")
    n.do(1, 38, lambda: n.acknowledge("technical.unit_silent"), "operator acks unit silent")
    n.sensor(2, 45, "bed", occupancy=False)
    n.sensor(2, 47, "motion", occupancy=True)
    n.sensor(2, 50, "door", contact=False)
    n.do(2, 51, lambda: n.acknowledge("passive.door_at_night"), "operator acks the door")
    n.sensor(2, 52, "door", contact=True)
    n.sensor(3, 0, "motion", occupancy=False)
    n.sensor(3, 30, "bed", occupancy=True)

    async def unit_back() -> None:
        n.unit.silent = False

    n.do(3, 59, unit_back, "unit is back")  # its next heartbeat is at 04:00
    n.do(4, 30, lambda: n.panel.send_sia("AT"), "panel: mains trouble")
    n.do(4, 31, lambda: n.panel.send_sia("AR"), "panel: mains restored")
    n.sensor(5, 0, "leak", water_leak=True)
    n.do(5, 1, lambda: n.acknowledge("passive.water_leak"), "operator acks the leak")
    n.sensor(5, 10, "leak", water_leak=False)
    n.do(5, 30, lambda: n.unit.event("mains_lost"), "unit: mains lost")
    n.do(5, 31, lambda: n.unit.event("mains_restored"), "unit: mains restored")
    n.sensor(7, 5, "bed", occupancy=False)  # up for the day
    n.sensor(7, 6, "motion", occupancy=True)


def journal(gw: Gateway) -> list[tuple[str, ...]]:
    """Alarm events and Navet's device.online, in order: (local time, type, kind, device, what)."""
    events = [s.event for s in gw.store.query_events(TENANT, types=["alarm.", "device.online"],
                                                     limit=10_000)]
    kinds = {e.alarm: str(e.data.kind) for e in events if e.type == "alarm.raised"}  # type: ignore[attr-defined]

    def line(e: EventBase) -> tuple[str, ...]:
        data: Any = e.data
        what = {"alarm.escalated": lambda: f"{data.level} {data.to}",
                "alarm.closed": lambda: str(data.outcome),
                "alarm.acknowledged": lambda: data.by.id,
                "device.online": lambda: f"silent {data.silent_s} s"}.get(e.type, lambda: "")()
        return (e.time.astimezone(STHLM).strftime("%H:%M:%S"), e.type,
                kinds.get(e.alarm, "") if e.alarm else "",
                e.device.id if e.device else "", what)

    mine = [e for e in events if e.type != "device.online" or e.source.adapter == "navet"]
    return [line(e) for e in sorted(mine, key=lambda e: e.time)]


async def test_a_night_in_a_flat_with_sensors_a_scaip_unit_and_a_dc09_panel(
    night: Night,
) -> None:
    n = night
    script(n)
    task = asyncio.create_task(n.runner.run(until=END))
    task.add_done_callback(lambda _: setattr(n, "done", True))
    try:
        while (n.clock.now() - START).total_seconds() < END:
            await n.clock.advance(60)
            await n.settle()
        await asyncio.wait_for(task, 10)
    finally:
        task.cancel()
    assert n.runner.failed == 0
    assert n.gw.store.count_dead_letters() == 0

    bed, door, leak = (f"zigbee2mqtt:r1001_{r}" for r in ("bed", "door", "leak"))
    silent, mains = "technical.unit_silent", "technical.mains_lost"
    assert journal(n.gw) == [
        ("01:37:30", "alarm.raised", silent, UNIT, ""),
        ("01:38:00", "alarm.acknowledged", silent, UNIT, "op-1"),
        ("02:50:00", "alarm.raised", "passive.door_at_night", door, ""),
        ("02:51:00", "alarm.acknowledged", "passive.door_at_night", door, "op-1"),
        ("03:00:00", "alarm.raised", "passive.bed_exit", bed, ""),
        ("03:02:00", "alarm.escalated", "passive.bed_exit", bed, "1 team-norr"),
        ("03:04:00", "alarm.escalated", "passive.bed_exit", bed, "2 on-call"),
        ("03:30:00", "alarm.updated", "passive.bed_exit", bed, ""),
        ("04:00:00", "device.online", silent, UNIT, "silent 10800 s"),
        ("04:00:00", "alarm.closed", silent, UNIT, "technical_fixed"),
        ("04:30:00", "alarm.raised", mains, PANEL, ""),
        ("04:31:00", "alarm.closed", mains, PANEL, "technical_fixed"),
        ("05:00:00", "alarm.raised", "passive.water_leak", leak, ""),
        ("05:01:00", "alarm.acknowledged", "passive.water_leak", leak, "op-1"),
        ("05:30:00", "alarm.raised", mains, UNIT, ""),
        ("05:31:00", "alarm.closed", mains, UNIT, "technical_fixed"),
    ]

    # what the people who act would read
    [exit_alarm] = [a for a in await n.gw.alarms.open_alarms(TENANT)
                    if a.kind == "passive.bed_exit"]
    assert (exit_alarm.priority, exit_alarm.escalated_to, exit_alarm.overdue) == (
        "high", "on-call", True)
    assert exit_alarm.history[0].data.text == (  # type: ignore[attr-defined]
        "out of the bed at 02:45 and not back within 15 min")
    assert exit_alarm.location is not None and exit_alarm.location.text == "Sovrum"
    assert exit_alarm.history[-1].data.text == "back in the bed at 03:30, after 45 min"  # type: ignore[attr-defined]

    # the protocols did their part: hbi agreed, the panel's polls all acknowledged
    assert {m.hbi for m in n.unit.received if m.hbi is not None} == {15}
    assert {a.kind for a in n.panel.answers} == {"ACK"}
    beats = [s.event for s in n.gw.store.query_events(TENANT, types=["device.heartbeat"],
                                                       device=UNIT, limit=1000)]
    assert beats[0].data.interval_s == 900  # type: ignore[attr-defined]


async def test_technical_reports_from_each_protocol_open_and_close_one_alarm_each(
    night: Night,
) -> None:
    """Low battery, link failure and mains loss as SCAIP and DC-09 code them, and a Zigbee
    sensor that went offline and is heard again before the bridge says it is available."""
    n = night
    assert await n.unit.register() == 200

    async def scaip(stc: int) -> None:
        ref = n.unit.new_ref()
        assert (await n.unit.send(n.unit.mrq(ref, dty=2, stc=stc), ref)).snu == 0
        await n.settle()

    async def dc09(code: str) -> None:
        assert (await n.panel.send_sia(code)).kind == "ACK"
        await n.settle()

    for stc in (16, 15, 23, 112, 85, 86):  # battery low/ok, IP link lost/back, mains lost/back
        await scaip(stc)
    for code in ("YT", "YR", "YC", "YK", "AT", "AR"):  # the same, as SIA codes
        await dc09(code)
    await n.flat.mqtt.connect()
    await n.flat.report("bed", occupancy=False)
    await n.flat.mqtt.publish(f"{BASE}/r1001_bed/availability", '{"state": "offline"}')
    await n.settle()
    await n.clock.advance(60)
    await n.flat.report("bed", occupancy=False)  # heard again, no availability message yet
    await n.settle()

    bed = "zigbee2mqtt:r1001_bed"
    pairs = [("technical.low_battery", UNIT), ("technical.link_lost", UNIT),
             ("technical.mains_lost", UNIT), ("technical.low_battery", PANEL),
             ("technical.link_lost", PANEL), ("technical.mains_lost", PANEL),
             ("technical.link_lost", bed)]
    expected = [line for kind, device in pairs for line in (
        ("alarm.raised", kind, device, ""), ("alarm.closed", kind, device, "technical_fixed"))]
    expected.insert(-1, ("device.online", "technical.link_lost", bed, "silent 60 s"))
    assert [line[1:] for line in journal(n.gw)] == expected
    assert await n.gw.alarms.open_alarms(TENANT) == []
