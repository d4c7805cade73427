"""Geofences: exits at night, returns, no storm from jitter, windows, SOS outside home.

Every test feeds Stigfinnare messages through the real adapter and the durable pipeline
on a fake clock, then reads what the rules stored, in storage order.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gateway import FakeClock, make_event
from gateway.core.care import Geofence
from gateway.core.gateway import Gateway
from gateway.core.geo import Area
from gateway.core.model import EventBase
from gateway.core.rules.alarms import AlarmBook
from gateway.core.rules.engine import RuleContext
from gateway.core.rules.geofence import Fence, GeofenceRule
from gateway.core.settings import Settings
from tests.plugins.alarms.gps.stigfinnare import (
    DEVICE,
    NIGHT,
    RESIDENT,
    TENANT,
    Watch,
    care,
    instance_settings,
    offset,
    square,
)

from .helpers import pass_time, settle

NIGHT_START = datetime(2026, 1, 14, 21, 30, tzinfo=UTC)  # Wednesday 22:30 in Stockholm
MIDDAY = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)  # 12:00 in Stockholm


def _settings(tmp_path: Path, config: dict[str, Any]) -> Settings:
    file = tmp_path / "care.yaml"
    file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[file],
                    adapters=[{"adapter": "stigfinnare", "tenant": TENANT,
                               "settings": instance_settings()}])


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    fences = getattr(request, "param", None)
    return _settings(tmp_path, care(fences))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NIGHT_START)


def alarm_log(gw: Gateway) -> list[EventBase]:
    """Every alarm event stored, in storage order."""
    return [s.event for s in gw.store.query_events(TENANT, types=["alarm."], limit=10_000)]


def summary(events: list[EventBase]) -> list[tuple[str, str]]:
    """(type, kind or text) per alarm event: what an operator would read."""
    out = []
    for e in events:
        data: Any = e.data
        if e.type == "alarm.raised":
            out.append((e.type, str(data.kind)))
        elif e.type == "alarm.updated":
            out.append((e.type, (data.text or "").split(":")[0].split(";")[0].split(" (")[0]))
        elif e.type == "alarm.cancelled":
            out.append((e.type, str(data.reason)))
        else:
            out.append((e.type, ""))
    return out


class Log:
    """New alarm events since the last look."""

    def __init__(self, gw: Gateway) -> None:
        self.gw, self.seen = gw, 0

    def new(self) -> list[EventBase]:
        events = alarm_log(self.gw)
        fresh, self.seen = events[self.seen:], len(events)
        return fresh


async def walk(watch: Watch, gw: Gateway, clock: FakeClock, norths: list[float],
               every: float = 30, **kw: Any) -> None:
    for north in norths:
        await watch.fix(north, **kw)
        await settle(gw)
        await pass_time(gw, clock, every, step=every)


async def test_a_night_walk_out_of_the_home_fence_and_back_event_by_event(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)

    await walk(watch, gw, clock, [0, 3, -4])  # at home, 22:30
    await walk(watch, gw, clock, [60, 100])  # inside; then 20 m out but within ±8 m + 25 m
    assert log.new() == []

    await walk(watch, gw, clock, [140])  # 60 m out: clearly outside, first fix
    assert log.new() == []
    exit_fix_time = clock.now()
    await walk(watch, gw, clock, [175])  # second clear fix in a row: the alarm
    [raised] = log.new()
    assert summary([raised]) == [("alarm.raised", "gps.geofence_exit")]
    assert raised.source.adapter == "navet"
    assert (raised.priority, raised.resident) == ("high", RESIDENT)
    assert raised.device is not None and raised.device.id == DEVICE
    assert raised.time == exit_fix_time
    lat, lon = offset(175)
    assert raised.location is not None and raised.location.point is not None
    assert (raised.location.point.lat, raised.location.point.lon) == pytest.approx((lat, lon))
    assert "left geofence 'Hemma'" in (raised.data.text or "")  # type: ignore[attr-defined]
    exit_alarm = raised.alarm

    await walk(watch, gw, clock, [210, 245, 280, 300, 320, 340, 360, 380, 400, 420])
    [follow] = log.new()  # 5 minutes after the raise: one position update, no new alarm
    assert summary([follow]) == [("alarm.updated", "position update")]
    assert follow.alarm == exit_alarm
    assert follow.data.position is not None  # type: ignore[attr-defined]

    await watch.send("sos", north_m=425)  # SOS out there
    await settle(gw)
    events = log.new()
    assert summary(events) == [("alarm.raised", "personal_button"),
                               ("alarm.raised", "gps.panic_outside"),
                               ("alarm.updated", "the device's alarm moved here")]
    device_alarm, panic, fold = events
    assert device_alarm.source.adapter == "stigfinnare"
    # issue 12: the device's alarm is folded into the panic alarm, never cancelled
    assert fold.alarm == panic.alarm
    assert fold.data.folded.alarm == device_alarm.id  # type: ignore[attr-defined]
    assert await gw.alarms.state(TENANT, device_alarm.id) == "raised"
    assert panic.priority == "critical" and panic.alarm not in (exit_alarm, device_alarm.id)
    assert panic.location is not None and panic.location.point is not None
    assert panic.location.point.lat == pytest.approx(offset(425)[0])
    assert "outside home geofence 'Hemma'" in (panic.data.text or "")  # type: ignore[attr-defined]

    await walk(watch, gw, clock, [300, 140, 100])  # back: outside, outside, undecided
    assert log.new() == []
    await walk(watch, gw, clock, [60])  # first fix inside
    assert log.new() == []
    await walk(watch, gw, clock, [20])  # second: back inside
    [back] = log.new()
    assert summary([back]) == [("alarm.updated", "back inside geofence 'Hemma'")]
    assert back.alarm == exit_alarm

    await walk(watch, gw, clock, [0, 2, -3, 1])  # home for the rest of the night
    assert log.new() == []
    open_kinds = sorted(a.kind for a in await gw.alarms.open_alarms(TENANT))
    assert open_kinds == ["gps.geofence_exit", "gps.panic_outside"]  # for people to close


async def test_jitter_at_the_fence_edge_raises_nothing_and_a_real_exit_raises_once(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    # Two hours standing at the edge (80 m), fixes jumping ±25 m, accuracy 10 m
    jitter = [80 + d for d in (-25, 20, 5, 25, -10, 15, 22, -3, 18, 24)] * 12
    await walk(watch, gw, clock, jitter, every=60, accuracy=10.0)
    # a wild single fix far out, then back at the edge
    await walk(watch, gw, clock, [400, 70, 85], every=60, accuracy=10.0)
    # inside-outside flapping: never two clear outside fixes in a row
    await walk(watch, gw, clock, [200, 0, 200, 0, 200, 0], every=60)
    # coarse cell fixes far away decide nothing
    await walk(watch, gw, clock, [1500, 1600, 1500], every=60, accuracy=900.0)
    assert log.new() == []

    await walk(watch, gw, clock, [200, 220])  # really gone
    assert summary(log.new()) == [("alarm.raised", "gps.geofence_exit")]
    await walk(watch, gw, clock, [0, 200, 0, 200])  # flapping again: nothing confirmed
    assert log.new() == []
    await walk(watch, gw, clock, [0, 0])  # back
    assert summary(log.new()) == [("alarm.updated", "back inside geofence 'Hemma'")]
    await walk(watch, gw, clock, [200, 210])  # out again while the alarm is open
    assert summary(log.new()) == [("alarm.updated", "left geofence 'Hemma' again")]
    assert len([e for e in alarm_log(gw) if e.type == "alarm.raised"]) == 1


@pytest.mark.parametrize("clock", [FakeClock(MIDDAY)])
async def test_a_night_only_fence_raises_nothing_by_day_but_does_when_night_falls(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    await walk(watch, gw, clock, [0, 100, 200, 300, 400, 500, 500, 500])  # a walk at noon
    await watch.send("sos", north_m=500)  # SOS by day, outside: panic_outside all the same
    await settle(gw)
    assert summary(log.new()) == [("alarm.raised", "personal_button"),
                                  ("alarm.raised", "gps.panic_outside"),
                                  ("alarm.updated", "the device's alarm moved here")]
    # still out at 21:58 local: nothing; the night window starts at 22:00
    await pass_time(gw, clock, (datetime(2026, 1, 14, 20, 58, tzinfo=UTC)
                                - clock.now()).total_seconds(), step=3600)
    await walk(watch, gw, clock, [500], every=120)
    raised = [e for e in log.new() if e.type == "alarm.raised"]
    assert raised == []  # (the open panic alarm got its position updates meanwhile)
    await walk(watch, gw, clock, [500, 500], every=60)  # 22:00 and 22:01: outside at night
    raised = [e for e in log.new() if e.type == "alarm.raised"]
    assert summary(raised) == [("alarm.raised", "gps.geofence_exit")]


@pytest.mark.parametrize("settings", [[
    {"id": "hemma", "resident": RESIDENT, "name": "Hemma", "kind": "home",
     "geometry": square(80), "windows": NIGHT},
    {"id": "kvarteret", "resident": RESIDENT, "name": "Kvarteret", "kind": "allowed",
     "geometry": square(600),
     "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                  "start": "07:00", "end": "22:00"}]},
]], indirect=True)
@pytest.mark.parametrize("clock", [FakeClock(MIDDAY)])
async def test_by_day_the_neighbourhood_fence_applies_and_at_night_home(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    await walk(watch, gw, clock, [0, 200, 400, 550])  # inside the neighbourhood: fine
    assert log.new() == []
    await walk(watch, gw, clock, [700, 750])  # out of the neighbourhood by day
    [raised] = log.new()
    assert "'Kvarteret'" in (raised.data.text or "")  # type: ignore[attr-defined]


async def test_sos_at_home_stays_a_personal_button_alarm(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    await walk(watch, gw, clock, [0, 2])
    await watch.send("sos", north_m=1)
    await settle(gw)
    [raised] = log.new()
    assert summary([raised]) == [("alarm.raised", "personal_button")]
    assert raised.location is not None and raised.location.point is not None


async def test_sos_without_a_fix_outside_uses_the_last_known_position(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    await walk(watch, gw, clock, [300])
    await watch.send("sos")  # indoors somewhere: no fix with the alarm
    await settle(gw)
    events = log.new()
    assert summary(events) == [("alarm.raised", "personal_button"),
                               ("alarm.raised", "gps.panic_outside"),
                               ("alarm.updated", "the device's alarm moved here")]
    assert events[1].location is not None and events[1].location.point is not None
    assert events[1].location.point.lat == pytest.approx(offset(300)[0])
    await watch.send("sos")  # pressed again while the panic alarm is open: one alarm
    await settle(gw)
    assert summary(log.new()) == [("alarm.raised", "personal_button"),
                                  ("alarm.updated", "SOS pressed again")]
    [panic] = [a for a in await gw.alarms.open_alarms(TENANT) if a.kind == "gps.panic_outside"]
    assert len(panic.folded) == 2 and panic.repeats == 2  # both presses belong to it
    assert [a.kind for a in await gw.alarms.open_alarms(TENANT)] == ["gps.panic_outside"]
    assert len(gw.store.query_events(TENANT, types=["alarm.raised"], limit=100)) == 3


@pytest.mark.parametrize("settings", [[]], indirect=True)
async def test_without_fences_nothing_is_raised_and_sos_stays_personal(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    await walk(watch, gw, clock, [0, 500, 1000, 1500])
    await watch.send("sos", north_m=1500)
    await settle(gw)
    assert summary(log.new()) == [("alarm.raised", "personal_button")]


async def test_a_restart_remembers_the_open_exit_alarm(
    settings: Settings, clock: FakeClock, broker: Any
) -> None:
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    watch, log = Watch(gw, clock), Log(gw)
    await walk(watch, gw, clock, [0, 200, 220])
    assert summary(log.new()) == [("alarm.raised", "gps.geofence_exit")]
    await gw.stop()

    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet2"))
    await gw.start()
    try:
        watch.gw, log.gw = gw, gw
        await walk(watch, gw, clock, [240, 260])  # still out after the restart: no new alarm
        assert log.new() == []
        await walk(watch, gw, clock, [0, 0])
        assert summary(log.new()) == [("alarm.updated", "back inside geofence 'Hemma'")]
    finally:
        await gw.stop()


# --------------------------------------------------------------------------- the rule alone

class _Fixed(GeofenceRule):
    """The rule with its fences given, no store: for property tests of the jitter rule."""

    def __init__(self, fences: list[Fence]) -> None:
        super().__init__(AlarmBook())
        self.book.loaded = True
        self._given = fences

    def fences(self, ctx: RuleContext, tenant: str, resident: str) -> tuple[list[Fence], ZoneInfo]:
        return self._given, ZoneInfo("Europe/Stockholm")


HOME_FENCE = Geofence.model_validate({"id": "hemma", "resident": RESIDENT, "name": "Hemma",
                                      "kind": "home", "geometry": square(80)})
# Fixes with accuracy 5 m against a fence reaching 80 m north with a 25 m margin:
INSIDE = st.floats(0, 70)  # inside the square
UNDECIDED = st.floats(82, 108)  # outside, but by less than 5 m + 25 m
OUTSIDE = st.floats(112, 2000)  # clearly outside


@hypothesis_settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(INSIDE.map(lambda d: ("I", d)), UNDECIDED.map(lambda d: ("A", d)),
                          OUTSIDE.map(lambda d: ("O", d))), max_size=40))
def test_only_two_clear_fixes_in_a_row_outside_raise_and_returns_alternate(
    fixes: list[tuple[str, float]]
) -> None:
    rule = _Fixed([Fence(HOME_FENCE, Area.from_geojson(HOME_FENCE.geometry))])
    ctx = RuleContext(FakeClock(NIGHT_START), None, None, None)  # type: ignore[arg-type]
    out: list[EventBase] = []
    for i, (_, north) in enumerate(fixes):
        lat, lon = offset(north)
        ev = make_event("position.reported", tenant=TENANT, resident=RESIDENT,
                        time=NIGHT_START + timedelta(seconds=30 * i),
                        device={"id": DEVICE, "kind": "gps_alarm"},
                        source={"adapter": "stigfinnare", "protocol": "t", "ref": str(i)},
                        data={"point": {"lat": lat, "lon": lon, "accuracy_m": 5.0}})
        derived = rule.on_event(ev, ctx)
        for d in derived:
            rule.on_event(d, ctx)  # the rules see what they derived, as in the gateway
        out.extend(derived)

    decided = "".join(kind for kind, _ in fixes if kind != "A")  # undecided fixes do not count
    raised = [e for e in out if e.type == "alarm.raised"]
    assert len(raised) == (1 if "OO" in decided else 0)
    texts = [str(e.data.text).split(" geofence")[0] for e in out  # type: ignore[attr-defined]
             if e.type == "alarm.updated" and "position update" not in str(e.data.text)]  # type: ignore[attr-defined]
    assert all(a != b for a, b in itertools.pairwise(texts))  # back / left again
    assert texts[:1] in ([], ["back inside"])


@pytest.mark.parametrize(("local", "inside"), [
    ("2026-01-12T22:00", True),   # Monday 22:00: the window starts
    ("2026-01-12T21:59", False),
    ("2026-01-13T03:00", True),   # Tuesday 03:00 belongs to Monday night
    ("2026-01-13T07:00", False),  # the end is exclusive
    ("2026-01-12T03:00", False),  # Monday 03:00 would be Sunday night: not configured
    ("2026-01-13T22:30", False),  # Tuesday night: not configured
])
def test_an_overnight_window_belongs_to_the_day_it_starts(local: str, inside: bool) -> None:
    from datetime import time as t

    from gateway.core.care import TimeWindow
    from gateway.core.rules.geofence import in_window

    window = TimeWindow(days=["mon"], start=t(22), end=t(7))
    when = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/Stockholm"))
    assert in_window(window, when) is inside


async def test_an_older_fix_arriving_late_decides_nothing(
    gateway: Gateway, clock: FakeClock
) -> None:
    gw, watch, log = gateway, Watch(gateway, clock), Log(gateway)
    await walk(watch, gw, clock, [0, 0])
    await pass_time(gw, clock, 600)
    later = clock.now()
    await walk(watch, gw, clock, [10])
    for seconds in (300, 270):  # two fixes far out, taken before the last one, arrive now
        await watch.fix(400, at=later - timedelta(seconds=seconds))
        await settle(gw)
    assert log.new() == []
    await walk(watch, gw, clock, [400, 400])  # new fixes out there do count
    assert summary(log.new()) == [("alarm.raised", "gps.geofence_exit")]
