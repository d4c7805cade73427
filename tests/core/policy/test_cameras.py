"""The camera policy and the supervision service: who may look, when, how long, what is left.

Decisions are tested on the pure policy with the municipality of
``tests/plugins/cameras/helpers.py``; sessions run end to end against
simulated Vaktaren units on the in-memory broker, on a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.care import CareConfig, Tenant, TimeWindow
from gateway.core.gateway import Gateway
from gateway.core.policy.cameras import (
    RECHECK_S,
    CameraPolicy,
    CheckRefused,
    CheckStarted,
    SupervisionService,
    in_window,
)
from gateway.transports.memory import MemoryBroker
from simulators.cameras_mqtt import VaktarenUnits
from tests.plugins.cameras.helpers import (
    MAX_S,
    T0,
    TENANT,
    care,
    events,
    settle,
    tick,
    vaktaren_gateway,
)

UNIT = "vaktaren:cam-1"


def tenant() -> Tenant:
    return CareConfig.model_validate(care("vaktaren")).tenants[0]


def decide(staff: str, resident: str, at: datetime = T0) -> tuple[bool, str]:
    d = CameraPolicy().decide(tenant(), staff, resident, at)
    return d.allowed, d.code


# --------------------------------------------------------------------------- decisions


def test_night_staff_may_look_inside_the_window_with_valid_consent() -> None:
    assert decide("natt-1", "r-1") == (True, "scheduled")


def test_a_cohabitant_who_consented_does_not_stop_the_check() -> None:
    assert decide("natt-1", "r-2") == (True, "scheduled")


@pytest.mark.parametrize(("staff", "resident", "code"), [
    ("natt-9", "r-1", "unknown_staff"),
    ("dag-1", "r-1", "wrong_role"),
    ("natt-1", "r-9", "unknown_resident"),
    ("natt-1", "r-3", "cohabitant_consent_missing"),
    ("natt-1", "r-4", "consent_expired"),
    ("natt-1", "r-5", "consent_withdrawn"),
])
def test_refusals_name_the_first_thing_that_is_wrong(staff: str, resident: str,
                                                     code: str) -> None:
    assert decide(staff, resident) == (False, code)


def test_outside_the_window_is_refused_in_local_time() -> None:
    # 06:59 local is inside; 07:00 local (06:00 UTC in winter) is not; 21:59 local is not
    morning = datetime.fromisoformat("2026-01-14T05:59:00+00:00")
    assert decide("natt-1", "r-1", morning) == (True, "scheduled")
    assert decide("natt-1", "r-1", morning + timedelta(minutes=1)) == (False, "outside_window")
    evening = datetime.fromisoformat("2026-01-14T20:59:00+00:00")
    assert decide("natt-1", "r-1", evening) == (False, "outside_window")
    d = CameraPolicy().decide(tenant(), "natt-1", "r-1", evening)
    assert "21:59" in d.reason and "22:00-07:00" in d.reason


def test_a_window_past_midnight_belongs_to_the_night_it_starts() -> None:
    friday_night = TimeWindow(days=["fri"], start="22:00", end="06:00")
    tz = Tenant.model_fields["timezone"].default
    from zoneinfo import ZoneInfo
    sat_0300 = datetime(2026, 1, 17, 3, 0, tzinfo=ZoneInfo(tz))
    fri_0300 = datetime(2026, 1, 16, 3, 0, tzinfo=ZoneInfo(tz))
    assert in_window(friday_night, sat_0300)
    assert not in_window(friday_night, fri_0300)


def test_a_consent_not_yet_in_force_is_refused() -> None:
    before = datetime.fromisoformat("2025-05-31T21:30:00+00:00")  # consents start 1 June
    assert decide("natt-1", "r-1", before) == (False, "consent_not_yet_valid")


# --------------------------------------------------------------------------- sessions


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def night(tmp_path: Path, clock: FakeClock, broker: MemoryBroker
                ) -> AsyncIterator[tuple[Gateway, VaktarenUnits]]:
    async with vaktaren_gateway(tmp_path, clock, broker) as pair:
        yield pair


async def test_an_allowed_check_is_audited_before_the_camera_opens_and_ends_on_request(
        night: tuple[Gateway, VaktarenUnits], clock: FakeClock) -> None:
    gw, units = night
    started = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(started, CheckStarted)
    assert started.url.startswith("https://relay.vaktaren.example/v/cam-1?t=")
    assert started.ends_at == T0 + timedelta(seconds=MAX_S)
    assert units.units["cam-1"].session is not None
    await clock.advance(20)
    s = await gw.supervision.end_check(TENANT, "natt-1", started.session)
    assert (s.end_reason, s.duration_s) == ("stopped", 20)
    await settle(gw)
    [begun] = events(gw, "supervision.started")
    [ended] = events(gw, "supervision.ended")
    assert begun.data.session == ended.data.session == started.session
    assert begun.resident == "r-1" and begun.data.by.id == "natt-1"
    assert (ended.data.duration_s, ended.data.reason) == (20, "stopped")
    audit = list(reversed(await gw.supervision._audit.entries(TENANT)))  # type: ignore[union-attr]
    assert [(e.action, e.decision) for e in audit] == [
        ("supervision.start", "allowed"), ("supervision.start", "started"),
        ("supervision.stop", "ended")]
    assert audit[-1].detail["duration_s"] == 20 and audit[-1].actor == "natt-1"
    assert started.url not in "".join(e.body for e in _rows(gw))  # never stored


def _rows(gw: Gateway) -> list:
    class Row:
        def __init__(self, body: str) -> None:
            self.body = body

    def read(conn) -> list[Row]:  # type: ignore[no-untyped-def]
        bodies = [r[0] for r in conn.execute("SELECT body FROM events")]
        bodies += [r[0] for r in conn.execute("SELECT detail || reason FROM audit_log")]
        bodies += [r[0].decode() for r in conn.execute("SELECT payload FROM frames")]
        return [Row(b) for b in bodies]

    return gw.store.read_sync(read)


@pytest.mark.parametrize(("staff", "resident", "code"), [
    ("natt-1", "r-3", "cohabitant_consent_missing"),
    ("natt-1", "r-4", "consent_expired"),
    ("natt-1", "r-5", "consent_withdrawn"),
    ("dag-1", "r-1", "wrong_role"),
    ("natt-9", "r-1", "unknown_staff"),
])
async def test_a_refusal_is_an_event_and_an_audit_entry_and_never_reaches_the_camera(
        night: tuple[Gateway, VaktarenUnits], staff: str, resident: str, code: str) -> None:
    gw, units = night
    refused = await gw.supervision.start_check(TENANT, staff, resident)
    assert isinstance(refused, CheckRefused) and refused.code == code
    await settle(gw)
    [event] = events(gw, "supervision.refused")
    assert event.id == refused.event
    assert (event.data.code, event.data.by.id, event.resident) == (code, staff, resident)
    assert event.device is not None and event.device.kind == "camera"
    assert all(u.session is None and u.seq == 0 for u in units.units.values())
    [entry] = await gw.supervision._audit.entries(TENANT)  # type: ignore[union-attr]
    assert (entry.decision, entry.detail["code"]) == ("denied", code)


async def test_refused_outside_the_window(night: tuple[Gateway, VaktarenUnits],
                                          clock: FakeClock) -> None:
    gw, _ = night
    await clock.advance(9 * 3600)  # 07:30 local
    refused = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(refused, CheckRefused) and refused.code == "outside_window"


async def test_a_session_ends_by_itself_at_max_length_even_if_nobody_says_stop(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    # units that would stream forever: only Navet's own timer can end the session
    async with vaktaren_gateway(tmp_path, clock, broker, enforce_max=False) as (gw, units):
        started = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
        assert isinstance(started, CheckStarted)
        await clock.advance(MAX_S - 1)
        assert units.units["cam-1"].session is not None
        await clock.advance(1)
        await settle(gw)
        assert units.units["cam-1"].session is None
        [ended] = events(gw, "supervision.ended")
        assert (ended.data.reason, ended.data.duration_s) == ("max_length", MAX_S)
        assert gw.supervision.sessions == {}
        [privacy] = [e for e in events(gw, "camera.privacy")][-1:]
        assert privacy.data.state == "covered"


async def test_withdrawing_consent_ends_an_open_session(
        night: tuple[Gateway, VaktarenUnits], clock: FakeClock) -> None:
    gw, units = night
    started = await gw.supervision.start_check(TENANT, "natt-1", "r-2")
    assert isinstance(started, CheckStarted)
    config = care("vaktaren")
    for c in config["tenants"][0]["consents"]:
        if c["id"] == "c-2b":
            c["withdrawn"] = (T0 + timedelta(seconds=10)).isoformat()
    from gateway.core.care import apply_care_config
    await apply_care_config(CareConfig.model_validate(config), gw.store, gw.directory)
    await tick(clock, 10 + RECHECK_S, gw=gw)
    await settle(gw)
    assert units.units["cam-2"].session is None
    [ended] = events(gw, "supervision.ended")
    assert ended.data.reason == "cohabitant_consent_missing"
    assert ended.data.duration_s <= 10 + RECHECK_S


async def test_one_viewer_at_a_time(night: tuple[Gateway, VaktarenUnits]) -> None:
    gw, _ = night
    assert isinstance(await gw.supervision.start_check(TENANT, "natt-1", "r-1"), CheckStarted)
    busy = await gw.supervision.start_check(TENANT, "natt-2", "r-1")
    assert isinstance(busy, CheckRefused) and busy.code == "camera_busy"


async def test_staff_can_only_end_their_own_check(night: tuple[Gateway, VaktarenUnits]) -> None:
    from gateway.core.policy.cameras import UnknownSessionError
    gw, _ = night
    started = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(started, CheckStarted)
    with pytest.raises(UnknownSessionError):
        await gw.supervision.end_check(TENANT, "natt-2", started.session)


async def test_needs_help_raises_an_alarm_and_needs_visit_requests_a_visit(
        night: tuple[Gateway, VaktarenUnits], clock: FakeClock) -> None:
    gw, _ = night
    first = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(first, CheckStarted)
    await clock.advance(15)
    obs = await gw.supervision.observe(TENANT, "natt-1", first.session, "needs_alarm",
                                       "ligger på golvet")
    await gw.supervision.end_check(TENANT, "natt-1", first.session)
    second = await gw.supervision.start_check(TENANT, "natt-1", "r-2")
    assert isinstance(second, CheckStarted)
    visit_obs = await gw.supervision.observe(TENANT, "natt-1", second.session, "needs_visit")
    asleep = await gw.supervision.observe(TENANT, "natt-1", second.session, "asleep")
    await settle(gw)
    [alarm] = events(gw, "alarm.raised")
    assert alarm.data.kind == "supervision.needs_help" and alarm.priority == "critical"
    assert alarm.resident == "r-1" and alarm.device.id == UNIT
    assert alarm.source.ref == obs.id
    record = await gw.alarms.alarm(TENANT, alarm.id)
    assert record is not None and record.state == "raised"  # in the lifecycle like any alarm
    [visit] = events(gw, "visit.requested")
    assert visit.resident == "r-2" and visit.data.observation == visit_obs.id
    assert visit.data.session == second.session and visit.data.by.id == "natt-1"
    assert asleep.data.finding == "asleep"  # noted, nothing derived from it
    mine = await gw.supervision.my_checks(TENANT, "natt-1")
    assert [(c["resident"], c["status"]) for c in mine] == [("r-1", "ended"), ("r-2", "open")]
    assert mine[0]["findings"] == ["needs_alarm"] and mine[0]["duration_s"] == 15
    assert mine[1]["findings"] == ["needs_visit", "asleep"]


async def test_an_observation_needs_a_check_of_ones_own(
        night: tuple[Gateway, VaktarenUnits]) -> None:
    from gateway.core.policy.cameras import UnknownSessionError
    gw, _ = night
    started = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(started, CheckStarted)
    with pytest.raises(UnknownSessionError):
        await gw.supervision.observe(TENANT, "natt-2", started.session, "asleep")
    with pytest.raises(UnknownSessionError):
        await gw.supervision.observe(TENANT, "natt-1", "sv-unknown", "asleep")


def test_tonight_starts_at_local_noon() -> None:
    at_0300 = datetime.fromisoformat("2026-01-14T02:00:00+00:00")
    start = SupervisionService.night_start(at_0300, "Europe/Stockholm")
    assert start.isoformat() == "2026-01-13T12:00:00+01:00"


async def test_a_camera_streaming_in_a_session_navet_never_allowed_raises_an_alarm(
        night: tuple[Gateway, VaktarenUnits]) -> None:
    gw, units = night
    allowed = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(allowed, CheckStarted)
    # someone opens cam-2's stream through the vendor, past Navet
    await units.mqtt.publish("vaktaren/site-1/cam-2/event", json.dumps(
        {"seq": 1, "ts": int(T0.timestamp() * 1000), "ev": "session_start",
         "session": "portal-17", "viewer": "service", "max_s": 600}))
    await settle(gw)
    [alarm] = events(gw, "alarm.raised")
    assert alarm.resident == "r-2" and alarm.device.id == "vaktaren:cam-2"
    assert alarm.data.kind == "technical.other" and alarm.priority == "high"
    assert alarm.data.code == "supervision.unallowed_stream" and "portal-17" in alarm.data.text


def test_consent_times_without_an_offset_are_read_in_the_tenants_local_time() -> None:
    config = care("vaktaren")
    for c in config["tenants"][0]["consents"]:
        if c["id"] == "c-1":
            c["valid_to"] = "2026-01-13T22:20:00"  # local: 21:20 UTC, before T0 (21:30 UTC)
    t = CareConfig.model_validate(config).tenants[0]
    d = CameraPolicy().decide(t, "natt-1", "r-1", T0)
    assert (d.allowed, d.code) == (False, "consent_expired")
    d = CameraPolicy().decide(t, "natt-1", "r-1", T0 - timedelta(minutes=15))
    assert d.allowed, d.reason
