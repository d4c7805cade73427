"""Passive alarms from sensor reports: bed/chair exit, door at night, no activity, leak, fall."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from gateway import Actor, FakeClock, make_event
from gateway.core.care import CareConfig, Device, PassiveRules, TimeWindow
from gateway.core.care.models import in_window
from gateway.core.gateway import Gateway
from gateway.core.rules.passive import silence_deadline
from gateway.core.settings import Settings
from gateway.errors import ConfigError
from gateway.transports.memory import MemoryBroker

from .helpers import CHAIN, TENANT, alarms_of, pass_time, settle, stored, z2m

STHLM = ZoneInfo("Europe/Stockholm")
BED = "zigbee2mqtt:r1001_bed"
DOOR = "zigbee2mqtt:r1001_door"
CARE: dict[str, Any] = {
    "tenants": [{
        "id": TENANT,
        "name": "Västerås stad",
        "timezone": "Europe/Stockholm",
        "alarms": {"receivers": CHAIN, "ack_deadline_s": 120},
        "residents": [{"id": "r-1001", "label": "Lgh 1102"},
                      {"id": "r-1002", "home": {"text": "Lgh 1204"}},
                      {"id": "r-1003"}],
        "devices": [
            *({"adapter": "zigbee2mqtt", "address": f"r1001_{role}", "kind": "passive_sensor",
               "resident": "r-1001", "location": place}
              for role, place in (("bed", "Sovrum"), ("door", "Entré"), ("motion", "Hall"),
                                  ("leak", "Kök"), ("fall", "Badrum"), ("chair", "Vardagsrum"))),
            {"adapter": "acme", "address": "sensor-17", "kind": "passive_sensor",
             "resident": "r-1002", "role": "motion", "location": "Hall"},
            {"adapter": "zigbee2mqtt", "address": "r1003_bed", "kind": "passive_sensor",
             "resident": "r-1003"},
            {"adapter": "zigbee2mqtt", "address": "r1003_leak", "kind": "passive_sensor",
             "resident": "r-1003"},
        ],
        "passive": [
            {"resident": "r-1001", "exit_return_s": 600, "no_activity": False},
            {"resident": "r-1002", "no_activity_s": 7200,
             "day": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "start": "07:00", "end": "22:00"}},
        ],
    }],
}


def local(day: int, hh: int, mm: int = 0) -> datetime:
    """A Stockholm wall-clock time in January 2026 (UTC+1), as UTC."""
    return datetime(2026, 1, day, hh, mm, tzinfo=STHLM).astimezone(UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(local(14, 21))  # a Wednesday, nine in the evening


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump(CARE, allow_unicode=True), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": TENANT}],
                    care_config=[care])


async def until_local(gw: Gateway, clock: FakeClock, when: datetime, step: float = 60) -> None:
    await pass_time(gw, clock, (when - clock.now()).total_seconds(), step=step)


async def report(gw: Gateway, clock: FakeClock, name: str, **readings: Any) -> None:
    """One Zigbee2MQTT report a second after the last (without last_seen, one per instant)."""
    await clock.advance(1)
    await z2m(gw, clock, name, readings)
    await settle(gw)


def acme(clock: FakeClock, ref: str, **readings: Any) -> Any:
    """A report of the same readings from another adapter (a vendor cloud)."""
    return make_event("sensor.reported", tenant=TENANT, time=clock.now(), resident="r-1002",
                      device={"id": "acme:sensor-17", "kind": "passive_sensor"},
                      source={"adapter": "acme", "protocol": "https", "ref": ref},
                      data={"readings": readings})


# --------------------------------------------------------------------------- bed and chair


async def test_bed_exit_at_night_without_return_raises_and_escalates(
    gateway: Gateway, clock: FakeClock
) -> None:
    await report(gateway, clock, "r1001_bed", occupancy=True)  # 21:00, to bed
    await until_local(gateway, clock, local(15, 3, 10))
    await report(gateway, clock, "r1001_bed", occupancy=False)  # 03:10 up
    left = clock.now()
    await pass_time(gateway, clock, 599, step=599)
    assert alarms_of(gateway, "passive.bed_exit") == []
    await pass_time(gateway, clock, 2, step=2)

    [alarm] = alarms_of(gateway, "passive.bed_exit")
    assert alarm.time == left + timedelta(seconds=600)
    assert (alarm.priority, alarm.resident) == ("high", "r-1001")
    assert alarm.device is not None and alarm.device.id == BED
    assert alarm.location is not None and alarm.location.text == "Sovrum"
    assert alarm.data.text == "out of the bed at 03:10 and not back within 10 min"  # type: ignore[attr-defined]

    # nobody acknowledges: the alarm walks the tenant's receiver chain
    await pass_time(gateway, clock, 300)
    steps = stored(gateway, "alarm.escalated", alarm=alarm.alarm)
    assert [(e.data.level, e.data.to) for e in steps] == [(1, "team-norr"), (2, "on-call")]  # type: ignore[attr-defined]

    # still out of bed at the next check-in: no second alarm; back in bed: an update
    await report(gateway, clock, "r1001_bed", occupancy=False)
    await pass_time(gateway, clock, 1200)
    assert len(alarms_of(gateway, "passive.bed_exit")) == 1
    await report(gateway, clock, "r1001_bed", occupancy=True)
    [update] = stored(gateway, "alarm.updated", alarm=alarm.alarm)
    assert update.data.text.startswith("back in the bed at 03:")  # type: ignore[attr-defined]


async def test_return_before_the_deadline_and_exits_by_day_raise_nothing(
    gateway: Gateway, clock: FakeClock
) -> None:
    await report(gateway, clock, "r1001_bed", occupancy=True)
    await until_local(gateway, clock, local(15, 1, 30))
    await report(gateway, clock, "r1001_bed", occupancy=False)  # to the toilet
    await pass_time(gateway, clock, 540)
    await report(gateway, clock, "r1001_bed", occupancy=True)  # back after 9 min
    await pass_time(gateway, clock, 3600)
    await until_local(gateway, clock, local(15, 7, 30), step=600)
    await report(gateway, clock, "r1001_bed", occupancy=False)  # up in the morning
    await report(gateway, clock, "r1001_chair", occupancy=True)
    await report(gateway, clock, "r1001_chair", occupancy=False)
    await pass_time(gateway, clock, 7200, step=600)
    assert alarms_of(gateway, "passive.bed_exit") == []
    assert alarms_of(gateway, "passive.chair_exit") == []


async def test_chair_exit_at_night(gateway: Gateway, clock: FakeClock) -> None:
    await until_local(gateway, clock, local(14, 23), step=600)
    await report(gateway, clock, "r1001_chair", occupancy=True)
    await report(gateway, clock, "r1001_chair", occupancy=False)
    await pass_time(gateway, clock, 660)
    [alarm] = alarms_of(gateway, "passive.chair_exit")
    assert alarm.location is not None and alarm.location.text == "Vardagsrum"


async def test_a_resident_without_passive_rules_gets_no_exit_alarm_but_a_leak_alarm(
    gateway: Gateway, clock: FakeClock
) -> None:
    await until_local(gateway, clock, local(15, 2), step=600)
    await report(gateway, clock, "r1003_bed", occupancy=True)
    await report(gateway, clock, "r1003_bed", occupancy=False)
    await pass_time(gateway, clock, 3600, step=600)
    assert alarms_of(gateway, "passive.bed_exit") == []
    await report(gateway, clock, "r1003_leak", water_leak=True)
    [leak] = alarms_of(gateway, "passive.water_leak")
    assert (leak.resident, leak.priority) == ("r-1003", "normal")


# --------------------------------------------------------------------------- doors


async def test_door_opened_at_night_is_one_alarm_while_open(
    gateway: Gateway, clock: FakeClock
) -> None:
    await report(gateway, clock, "r1001_door", contact=False)  # 21:00: evening, no alarm
    await report(gateway, clock, "r1001_door", contact=True)
    assert alarms_of(gateway, "passive.door_at_night") == []

    await until_local(gateway, clock, local(15, 2, 14), step=600)
    await report(gateway, clock, "r1001_door", contact=False)
    [alarm] = alarms_of(gateway, "passive.door_at_night")
    assert alarm.time == clock.now() and alarm.priority == "high"
    assert alarm.location is not None and alarm.location.text == "Entré"
    assert alarm.data.text == "door opened at 02:14, at night (22:00-07:00)"  # type: ignore[attr-defined]

    for _ in range(3):  # open and shut again while the first alarm is open
        await report(gateway, clock, "r1001_door", contact=True)
        await report(gateway, clock, "r1001_door", contact=False)
        await pass_time(gateway, clock, 60)
    assert len(alarms_of(gateway, "passive.door_at_night")) == 1

    await gateway.alarms.acknowledge(TENANT, str(alarm.alarm), Actor(kind="operator", id="op"))
    await gateway.alarms.close(TENANT, str(alarm.alarm), Actor(kind="operator", id="op"),
                               "no_action_needed", None)
    await settle(gateway)
    await report(gateway, clock, "r1001_door", contact=True)
    await report(gateway, clock, "r1001_door", contact=False)  # a new opening: a new alarm
    assert len(alarms_of(gateway, "passive.door_at_night")) == 2


# --------------------------------------------------------------------------- no activity


async def test_no_activity_counts_only_inside_the_day_window(
    gateway: Gateway, clock: FakeClock
) -> None:
    await gateway.emit([acme(clock, "m1", occupancy=True)])  # 21:00, last motion of the day
    await settle(gateway)
    await until_local(gateway, clock, local(15, 8, 59), step=600)
    assert alarms_of(gateway, "passive.no_activity") == []  # the night does not count
    await pass_time(gateway, clock, 120)
    [alarm] = alarms_of(gateway, "passive.no_activity")
    assert alarm.time == local(15, 9)  # 07:00 + 2 h
    assert (alarm.resident, alarm.device, alarm.priority) == ("r-1002", None, "high")
    assert alarm.location is not None and alarm.location.text == "Lgh 1204"  # the home
    assert "since 21:00" in alarm.data.text  # type: ignore[attr-defined]

    # motion again: one update on the alarm; then a new silence is a new alarm
    await gateway.emit([acme(clock, "m2", occupancy=True)])
    await settle(gateway)
    await gateway.emit([acme(clock, "m3", occupancy=True)])
    await settle(gateway)
    [update] = stored(gateway, "alarm.updated", alarm=alarm.alarm)
    assert update.data.text.startswith("activity again at 09:")  # type: ignore[attr-defined]
    await gateway.alarms.acknowledge(TENANT, str(alarm.alarm), Actor(kind="operator", id="op"))
    await gateway.alarms.close(TENANT, str(alarm.alarm), Actor(kind="operator", id="op"),
                               "no_action_needed", None)
    await settle(gateway)
    await pass_time(gateway, clock, 7300, step=600)
    assert len(alarms_of(gateway, "passive.no_activity")) == 2
    # check-ins that show nothing new are no activity
    await gateway.emit([acme(clock, "m4", occupancy=False)])
    await settle(gateway)
    assert len(stored(gateway, "alarm.updated")) == 1


# --------------------------------------------------------------------------- leak, fall


async def test_water_leak_and_fall_once_per_episode(gateway: Gateway, clock: FakeClock) -> None:
    await until_local(gateway, clock, local(15, 10), step=1800)  # by day: any time
    for _ in range(3):
        await report(gateway, clock, "r1001_leak", water_leak=True, battery=80)
    [leak] = alarms_of(gateway, "passive.water_leak")
    assert leak.location is not None and leak.location.text == "Kök"

    await report(gateway, clock, "r1001_fall", vibration=True)  # a floor vibration sensor
    await report(gateway, clock, "r1001_fall", vibration=True)
    [fall] = alarms_of(gateway, "fall")
    assert (fall.priority, fall.resident, fall.location.text) == (  # type: ignore[union-attr]
        "critical", "r-1001", "Badrum")
    await report(gateway, clock, "r1001_motion", fall=True)  # any sensor that reads a fall
    assert len(alarms_of(gateway, "fall")) == 1  # the first one is still open


# --------------------------------------------------------------------------- restarts


async def test_an_exit_open_at_a_restart_raises_once_at_its_deadline(
    settings: Settings, clock: FakeClock, broker: MemoryBroker
) -> None:
    first = Gateway(settings, clock=clock, mqtt=broker.client("navet-1"))
    await first.start()
    try:
        await report(first, clock, "r1001_bed", occupancy=True)
        await until_local(first, clock, local(15, 3), step=600)
        await report(first, clock, "r1001_bed", occupancy=False)
        left = clock.now()
        await pass_time(first, clock, 300)
    finally:
        await first.stop()
    second = Gateway(settings, clock=clock, mqtt=broker.client("navet-2"))
    await second.start()
    try:
        await settle(second)
        await pass_time(second, clock, 400)
        [alarm] = alarms_of(second, "passive.bed_exit")
        assert alarm.time == left + timedelta(seconds=600)
    finally:
        await second.stop()
    third = Gateway(settings, clock=clock, mqtt=broker.client("navet-3"))
    await third.start()
    try:
        await pass_time(third, clock, 600)
        assert len(alarms_of(third, "passive.bed_exit")) == 1  # not raised again
        await report(third, clock, "r1001_bed", occupancy=True)
        assert len(stored(third, "alarm.updated", alarm=alarm.alarm)) == 1
    finally:
        await third.stop()


# --------------------------------------------------------------------------- configuration


def test_role_defaults_from_a_clean_address_suffix() -> None:
    def role(address: str, **kw: Any) -> str | None:
        return Device(adapter="zigbee2mqtt", address=address, kind="passive_sensor",
                      **kw).role

    assert role("r1001_bed") == "bed" and role("lgh_1102_door") == "door"
    assert role("bedroom") is None and role("r1001_bedside") is None and role("_bed") is None
    assert role("r1001_other") is None and role("hall-sensor", role="motion") == "motion"


def test_passive_rules_have_sane_defaults_and_refuse_what_cannot_work() -> None:
    rules = PassiveRules(resident="r-1")
    assert (rules.night.start, rules.night.end, rules.exit_return_s) == (time(22), time(7), 900)
    assert rules.bed_exit and rules.door_at_night and rules.water_leak and rules.fall
    with pytest.raises(ValueError, match="longer than the day window"):
        PassiveRules(resident="r-1", no_activity_s=3 * 3600,
                     day={"days": ["mon"], "start": "09:00", "end": "11:00"})  # type: ignore[arg-type]


async def test_passive_rules_must_name_known_residents_once(database: str) -> None:
    from gateway.core.care import apply_care_config
    from gateway.core.directory import DeviceDirectory
    from gateway.core.store import make_store

    store = make_store(database)
    store.open()
    try:
        for passive, error in (([{"resident": "r-9"}], "unknown resident r-9"),
                               ([{"resident": "r-1"}, {"resident": "r-1"}], "twice")):
            config = CareConfig.model_validate({"tenants": [{
                "id": "t", "name": "T", "residents": [{"id": "r-1"}], "passive": passive}]})
            with pytest.raises(ConfigError, match=error):
                await apply_care_config(config, store, DeviceDirectory())
    finally:
        store.close()


def test_windows_run_past_midnight_and_silence_counts_by_day() -> None:
    night = TimeWindow(days=["wed"], start=time(22), end=time(7))
    assert in_window(night, local(14, 23).astimezone(STHLM))  # Wednesday night
    assert in_window(night, local(15, 6, 59).astimezone(STHLM))  # ... into Thursday morning
    assert not in_window(night, local(15, 7).astimezone(STHLM))
    assert not in_window(night, local(15, 23).astimezone(STHLM))  # Thursday night is not configured
    day = TimeWindow(days=["wed", "thu"], start=time(7), end=time(22))
    assert silence_deadline(day, STHLM, local(14, 21), 7200) == local(15, 9)
    assert silence_deadline(day, STHLM, local(14, 8), 7200) == local(14, 10)
    assert silence_deadline(day, STHLM, local(15, 21), 7200) == local(21, 9)  # next Wednesday
    assert silence_deadline(TimeWindow(days=[], start=time(7), end=time(22)), STHLM,
                            local(15, 21), 7200) is None


async def test_a_return_stored_before_the_deadline_has_been_seen_when_it_falls(
        database: str) -> None:
    """The rules see a report in the transaction that stores it, and the timer decides
    inside a write job too: a return stored before the deadline always wins, and one
    that does not come raises the alarm at the deadline, ruled in the same commit."""
    import asyncio

    from gateway.core.care import apply_care_config
    from gateway.core.directory import DeviceDirectory
    from gateway.core.notifier import Notifier
    from gateway.core.rules import RuleContext, RulesRunner
    from gateway.core.rules.alarms import AlarmBook, LifecycleRule
    from gateway.core.rules.passive import PassiveRule
    from gateway.core.store import make_store

    clock = FakeClock(local(15, 2))
    store, directory = make_store(database), DeviceDirectory()
    store.open()
    emitted: list[Any] = []
    try:
        await apply_care_config(CareConfig.model_validate(CARE), store, directory)
        ctx = RuleContext(clock, store, directory, emit=emitted.extend)
        book = AlarmBook()
        rule = PassiveRule(book)
        runner = RulesRunner(store, [LifecycleRule(book), rule], ctx, Notifier())
        await runner.start()

        def bed(ref: str, occupied: bool) -> Any:
            return make_event("sensor.reported", tenant=TENANT, time=clock.now(),
                              resident="r-1001", device={"id": BED, "kind": "passive_sensor"},
                              source={"adapter": "zigbee2mqtt", "protocol": "zigbee2mqtt",
                                      "ref": ref}, data={"readings": {"occupancy": occupied}})

        async def settle() -> None:
            for _ in range(3):  # the timer's tick is a write; then it sleeps on the clock
                for _ in range(20):
                    await asyncio.sleep(0)
                await runner.drain()

        async def exit_alarms() -> list[Any]:
            await settle()
            return [s.event for s in store.query_events(TENANT, types=["alarm.raised"])]

        try:
            await store.append([bed("1", True)])
            await clock.advance(60)
            await store.append([bed("2", False)])  # out of bed at 02:01: due at 02:11
            await clock.advance(590)
            await store.append([bed("3", True)])  # back at 02:10:50; no drain, no waiting
            events, nxt = rule.due(ctx, clock.now() + timedelta(seconds=20))
            assert events == [] and nxt == local(15, 9)  # seen: no exit, r-1002's silence next
            await clock.advance(20)  # the deadline passes
            assert await exit_alarms() == []

            await store.append([bed("4", False)])  # out again at 02:11:10, and stays out
            await settle()
            await clock.advance(600)
            [alarm] = await exit_alarms()
            assert str(alarm.data.kind) == "passive.bed_exit"  # type: ignore[attr-defined]
            assert alarm.time == local(15, 2, 21) + timedelta(seconds=10)
            assert book.get(TENANT, str(alarm.alarm)) is not None  # seen in its own commit
            assert emitted == []  # stored by the timer's own write job, not through emit
        finally:
            await runner.stop()
    finally:
        store.close()
