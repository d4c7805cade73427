"""Routing per tenant: event kinds to consumers by local time of day, with fallbacks.

The gateway runs with recording sinks; the outbox workers are stopped and
driven by hand (``deliver``), so every decision is visible and nothing races.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from gateway import Actor, FakeClock, hookimpl, make_event
from gateway.core.care import TimeWindow
from gateway.core.gateway import Gateway
from gateway.core.model import EventBase, Priority
from gateway.core.routing import Facts, RouteMatch, TenantRouting, choose, in_window
from gateway.core.settings import Settings
from gateway.errors import ConfigError, TransportError
from gateway.transports.memory import MemoryBroker

TENANT = "vasteras"
STHLM = ZoneInfo("Europe/Stockholm")
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OP = Actor(kind="operator", id="op-1")


def local(hour: int, minute: int = 0, day: int = 5) -> datetime:
    """A wall-clock time in Västerås (Jan 2026, UTC+1), as UTC. 2026-01-05 is a Monday."""
    return datetime(2026, 1, day, hour, minute, tzinfo=STHLM).astimezone(UTC)


# --------------------------------------------------------------------------- pure decisions


def test_windows_past_midnight_belong_to_the_day_they_start() -> None:
    night = TimeWindow(days=["mon"], start=time(22), end=time(7))
    at = lambda h, d: datetime(2026, 1, d, h, tzinfo=STHLM)  # noqa: E731  # 5 = Monday
    assert in_window(night, at(23, 5)) and in_window(night, at(6, 6))  # Mon 23, Tue 06
    assert not in_window(night, at(6, 5))  # Monday early morning is Sunday's night
    assert not in_window(night, at(7, 6)) and not in_window(night, at(21, 5))
    day = TimeWindow(days=["sat", "sun"], start=time(8), end=time(16))
    assert in_window(day, at(8, 10)) and not in_window(day, at(16, 10))
    assert not in_window(day, at(9, 5))


def routing(**extra: Any) -> TenantRouting:
    return TenantRouting.model_validate({"tenant": TENANT, "fallback": "backup", "routes": [
        {"name": "care alarms at night", "to": "centre", "fallback": "team",
         "match": {"types": ["alarm."], "kinds": ["fall", "personal_button"]},
         "when": [{"days": ALL_DAYS, "start": "22:00", "end": "07:00"}]},
        {"name": "critical by day", "to": "centre-day",
         "match": {"types": ["alarm."], "priorities": ["critical"]},
         "when": [{"days": ALL_DAYS, "start": "07:00", "end": "22:00"}]},
        {"name": "technical", "to": "team", "match": {"kinds": ["technical."]}},
    ], **extra})


@pytest.mark.parametrize(("facts", "want"), [
    (Facts("alarm.raised", "fall", Priority.HIGH, local(23)), ("centre", "team", True)),
    (Facts("alarm.acknowledged", "personal_button", Priority.NORMAL, local(6, 59)),
     ("centre", "team", True)),
    # Off duty: the route's fallback is the target.
    (Facts("alarm.raised", "fall", Priority.HIGH, local(10)), ("team", None, False)),
    # A later route on duty wins over an earlier one off duty.
    (Facts("alarm.raised", "fall", Priority.CRITICAL, local(10)), ("centre-day", "backup", True)),
    (Facts("alarm.raised", "technical.unit_silent", Priority.NORMAL, local(3)),
     ("team", "backup", True)),
])
def test_choose_picks_the_first_route_on_duty(facts: Facts, want: tuple[Any, ...]) -> None:
    choice = choose(routing(), facts, STHLM)
    assert choice is not None
    assert (choice.target, choice.fallback, choice.on_duty) == want


def test_events_no_route_matches_are_not_routed() -> None:
    assert choose(routing(), Facts("sensor.reported", None, Priority.NORMAL, local(23)),
                  STHLM) is None
    assert choose(routing(), Facts("alarm.raised", "passive.bed_exit", Priority.HIGH,
                                   local(23)), STHLM) is None


def test_route_types_must_exist() -> None:
    with pytest.raises(ValueError, match=r"alarm\.rasied"):
        RouteMatch(types=["alarm.rasied"])


# --------------------------------------------------------------------------- through the outbox


class RecordingSink:
    kind: ClassVar[str] = "record"
    delivered: ClassVar[dict[str, list[EventBase]]] = {}
    broken: ClassVar[set[str]] = set()
    attempts: ClassVar[dict[str, int]] = {}

    def __init__(self, settings: dict[str, Any], services: Any) -> None:
        self.id = services.subscription.id

    async def deliver(self, event: EventBase) -> None:
        self.attempts[self.id] = self.attempts.get(self.id, 0) + 1
        if self.id in self.broken:
            raise TransportError(f"{self.id} is down")
        self.delivered.setdefault(self.id, []).append(event)


class RecordingPlugin:
    @hookimpl
    def navet_register_sinks(self, registry: Any) -> None:
        registry.add(RecordingSink)


SUBS = ["centre", "centre-day", "team", "backup", "everything"]


def settings_for(tmp_path: Path, routes: TenantRouting, *, disabled: tuple[str, ...] = (),
                 types: dict[str, list[str]] | None = None) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps({"tenants": [{
        "id": TENANT, "name": "Västerås", "timezone": "Europe/Stockholm",
        "residents": [{"id": "r-1"}],
        "devices": [{"adapter": "scaip", "address": "u1", "kind": "social_alarm",
                     "resident": "r-1"}]}]}), encoding="utf-8")
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        subscriptions=[{"id": s, "tenant": TENANT, "sink": "record",
                        "types": (types or {}).get(s, ["*"]), "enabled": s not in disabled}
                       for s in SUBS],
        routing=[routes.model_dump(mode="json")],
        db_synchronous="OFF",  # a fake-clock test commits at every step; no crash here
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(local(21))


async def started(settings: Settings, clock: FakeClock, broker: MemoryBroker) -> Gateway:
    RecordingSink.delivered.clear()
    RecordingSink.broken.clear()
    RecordingSink.attempts.clear()
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"),
                 extra_plugins=[("recording", RecordingPlugin())])
    await gw.start()
    assert gw.outbox is not None
    await gw.outbox.stop()  # the test drives delivery itself
    return gw


@pytest.fixture
async def gw(tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> AsyncIterator[Gateway]:
    gateway = await started(settings_for(tmp_path, routing(probe_s=300)), clock, broker)
    try:
        yield gateway
    finally:
        await gateway.stop()


async def deliver(gw: Gateway) -> None:
    """Run every subscription's outbox until nothing more is due (handovers included)."""
    assert gw.outbox is not None and gw.rules is not None
    await gw.rules.drain()  # what the rules derive (technical alarms) is stored first
    for _ in range(3):
        for sub in gw.store.subscriptions:
            if sub.id in gw.sinks and sub.enabled:
                await gw.outbox.deliver_due(sub)


def got(sub: str) -> list[tuple[str, str | None]]:
    return [(e.type, e.alarm) for e in RecordingSink.delivered.get(sub, [])]


def alarm(clock: FakeClock, name: str, kind: str = "fall", priority: str = "high") -> EventBase:
    return make_event(
        "alarm.raised", tenant=TENANT, time=clock.now(), alarm=name, priority=priority,
        source={"adapter": "scaip", "protocol": "scaip", "ref": name},
        device={"id": "scaip:u1", "kind": "social_alarm"}, resident="r-1",
        data={"kind": kind})


async def at(clock: FakeClock, when: datetime) -> None:
    await clock.advance((when - clock.now()).total_seconds())


async def test_night_alarms_go_to_the_centre_and_day_alarms_to_the_team(
        gw: Gateway, clock: FakeClock) -> None:
    await at(clock, local(23))
    await gw.emit([alarm(clock, "night")])
    await at(clock, local(10, day=6))
    await gw.emit([alarm(clock, "day", kind="personal_button")])
    await deliver(gw)
    assert got("centre") == [("alarm.raised", "night")]
    assert got("team") == [("alarm.raised", "day")]
    assert got("backup") == [] and got("centre-day") == []
    # A subscription no route names gets everything, as before.
    assert got("everything") == [("alarm.raised", "night"), ("alarm.raised", "day")]
    assert gw.store.outbox_depth() == {}  # nothing left behind for anybody


async def test_an_alarms_later_events_follow_where_it_was_raised(
        gw: Gateway, clock: FakeClock) -> None:
    await at(clock, local(21, 59))
    await gw.emit([alarm(clock, "a-1")])
    await clock.advance(120)  # 22:01: the centre is on duty now, but the alarm is the team's
    await gw.alarms.acknowledge(TENANT, "a-1", OP)
    await deliver(gw)
    assert got("team") == [("alarm.raised", "a-1"), ("alarm.acknowledged", "a-1")]
    assert got("centre") == []


async def test_unrouted_events_skip_routed_subscriptions(gw: Gateway, clock: FakeClock) -> None:
    await at(clock, local(23))
    await gw.emit([alarm(clock, "bed", kind="passive.bed_exit"),
                   make_event("device.battery", tenant=TENANT, time=clock.now(),
                              source={"adapter": "scaip", "protocol": "scaip", "ref": "b"},
                              device={"id": "scaip:u1", "kind": "social_alarm"},
                              data={"level_pct": 20, "low": True})])
    await deliver(gw)
    assert [got(s) for s in ("centre", "centre-day", "backup")] == [[], [], []]
    # The low battery made Navet raise a technical alarm: that one is routed (to the team).
    assert [str(e.data.kind) for e in RecordingSink.delivered["team"]] == [  # type: ignore[attr-defined]
        "technical.low_battery"]
    assert [t for t, _ in got("everything")][:2] == ["alarm.raised", "device.battery"]


async def test_a_failing_primary_hands_over_to_the_fallback_until_it_recovers(
        gw: Gateway, clock: FakeClock) -> None:
    await at(clock, local(23))
    RecordingSink.broken.add("centre")
    await gw.emit([alarm(clock, "a-1")])
    await deliver(gw)
    assert got("team") == [("alarm.raised", "a-1")]  # taken over after one failure
    assert RecordingSink.attempts["centre"] == 1

    await clock.advance(60)  # still inside probe_s: not even tried
    await gw.emit([alarm(clock, "a-2", kind="personal_button")])
    await deliver(gw)
    assert got("team") == [("alarm.raised", "a-1"), ("alarm.raised", "a-2")]
    assert RecordingSink.attempts["centre"] == 1

    RecordingSink.broken.discard("centre")
    await clock.advance(300)  # probe_s over: the centre gets the next one again
    await gw.alarms.acknowledge(TENANT, "a-2", OP)
    await deliver(gw)
    assert got("centre") == [("alarm.acknowledged", "a-2")]
    assert len(got("team")) == 2 and got("backup") == []
    assert gw.store.outbox_depth() == {}


async def test_handover_survives_a_fallback_that_already_passed_the_event(
        gw: Gateway, clock: FakeClock) -> None:
    """The fallback saw the row first (not its own) and dropped it; the handover still lands."""
    await at(clock, local(23))
    await gw.emit([alarm(clock, "a-1")])
    assert gw.outbox is not None
    subs = {s.id: s for s in gw.store.subscriptions}
    await gw.outbox.deliver_due(subs["team"])  # the centre's, so the team drops its row
    RecordingSink.broken.add("centre")
    await gw.outbox.deliver_due(subs["centre"])  # fails: handed over
    await gw.outbox.deliver_due(subs["team"])
    assert got("team") == [("alarm.raised", "a-1")]


async def test_failover_waits_for_the_configured_number_of_failures(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    routes = routing()
    routes.routes[0] = routes.routes[0].model_copy(update={"failover_after": 2})
    gw = await started(settings_for(tmp_path, routes), clock, broker)
    try:
        await at(clock, local(23))
        RecordingSink.broken.add("centre")
        await gw.emit([alarm(clock, "a-1")])
        await deliver(gw)
        assert got("team") == [] and RecordingSink.attempts["centre"] == 1
        await clock.advance(3600)  # past any backoff
        await deliver(gw)
        assert got("team") == [("alarm.raised", "a-1")]
        assert RecordingSink.attempts["centre"] == 2
    finally:
        await gw.stop()


async def test_a_primary_that_is_not_running_leaves_its_events_to_the_fallback(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    gw = await started(settings_for(tmp_path, routing(), disabled=("centre",)), clock, broker)
    try:
        await at(clock, local(23))
        await gw.emit([alarm(clock, "a-1")])
        await deliver(gw)
        assert got("team") == [("alarm.raised", "a-1")] and got("centre") == []
    finally:
        await gw.stop()


async def test_routing_that_cannot_work_is_refused_at_start(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    bad = routing()
    bad.routes[0] = bad.routes[0].model_copy(update={"to": "nobody"})
    with pytest.raises(ConfigError, match="'nobody' is not a subscription"):
        gw = Gateway(settings_for(tmp_path, bad), clock=clock, mqtt=broker.client("a"),
                     extra_plugins=[("recording", RecordingPlugin())])
        try:
            await gw.start()
        finally:
            await gw.stop()
    narrow = settings_for(tmp_path, routing(), types={"team": ["device."]})
    with pytest.raises(ConfigError, match=r"'team' does not subscribe to alarm\.raised"):
        gw = Gateway(narrow, clock=clock, mqtt=broker.client("b"),
                     extra_plugins=[("recording", RecordingPlugin())])
        try:
            await gw.start()
        finally:
            await gw.stop()


def test_settings_read_routing_from_the_file(tmp_path: Path) -> None:
    from gateway.core.settings import load_settings

    path = tmp_path / "gateway.yaml"
    path.write_text(
        "routing:\n"
        "  - tenant: vasteras\n"
        "    fallback: backup\n"
        "    routes:\n"
        "      - to: centre\n"
        "        match: {types: ['alarm.'], priorities: [critical, high]}\n"
        "        when: [{days: [mon, tue], start: '22:00', end: '07:00'}]\n",
        encoding="utf-8")
    settings = load_settings(path)
    [tenant] = settings.routing
    assert tenant.routes[0].when[0].start == time(22)
    assert tenant.routes[0].match.priorities == [Priority.CRITICAL, Priority.HIGH]
    assert timedelta(seconds=tenant.probe_s) == timedelta(minutes=1)


async def test_duty_hours_without_a_fallback_are_refused(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    gaps = TenantRouting.model_validate({"tenant": TENANT, "routes": [
        {"to": "centre", "when": [{"days": ALL_DAYS, "start": "22:00", "end": "07:00"}]}]})
    gw = Gateway(settings_for(tmp_path, gaps), clock=clock, mqtt=broker.client("c"),
                 extra_plugins=[("recording", RecordingPlugin())])
    with pytest.raises(ConfigError, match="no fallback"):
        try:
            await gw.start()
        finally:
            await gw.stop()
