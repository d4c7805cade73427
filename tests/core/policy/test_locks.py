"""The unlock policy: a planned visit now (with grace) or a dispatched alarm, nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateway import Actor, FakeClock, make_event
from gateway.core.care import tenant_care
from gateway.core.gateway import Gateway
from gateway.core.policy import Decision, LockPolicy, PolicyContext

from .helpers import DOOR_1, DOOR_2, SENSOR, TENANT


async def decide(gw: Gateway, staff: str, device: str, command: str = "lock.unlock") -> Decision:
    care = tenant_care(gw.store, TENANT)
    ctx = PolicyContext(now=gw.clock.now(), tenant=care, device=gw.directory.get(device),
                        alarms=gw.alarms)
    return await LockPolicy().decide(command, staff, ctx)


async def test_team_member_with_a_visit_now_may_open(gw: Gateway) -> None:
    d = await decide(gw, "s-anna", DOOR_1)
    assert d.allowed and d.code == "visit"
    assert d.basis["plan"] == "plan-1001" and d.basis["team"] == "norr"
    assert d.basis["start"].startswith("2026-01-05T07:30:00+01:00")


async def test_staff_of_another_team_is_refused(gw: Gateway) -> None:
    d = await decide(gw, "s-bo", DOOR_1)
    assert not d.allowed and d.code == "not_assigned"


async def test_unknown_staff_is_refused(gw: Gateway) -> None:
    d = await decide(gw, "s-nobody", DOOR_1)
    assert (d.allowed, d.code) == (False, "unknown_staff")


async def test_a_resident_without_a_plan_is_refused(gw: Gateway) -> None:
    d = await decide(gw, "s-anna", "fakelock:door-1003")
    assert (d.allowed, d.code) == (False, "no_plan")


async def test_a_sensor_is_not_a_lock_and_an_unassigned_lock_opens_nothing(gw: Gateway) -> None:
    assert (await decide(gw, "s-anna", SENSOR)).code == "not_a_lock"
    assert (await decide(gw, "s-anna", "fakelock:spare")).code == "lock_unassigned"
    assert (await decide(gw, "s-anna", "fakelock:nope")).code == "unknown_device"


@pytest.mark.parametrize(("minutes", "allowed"), [
    (-26, False),  # 07:19 local
    (-25, True),   # 07:20 local: the visit at 07:30 minus 10 min grace
    (0, True),
    (30, True),    # 08:15 local, inside 15 min grace after 08:00
    (31, False),   # 08:16 local
])
async def test_grace_before_and_after_the_visit(gw: Gateway, clock: FakeClock, minutes: int,
                                                allowed: bool) -> None:
    # the fixture's clock is 07:45 local; move to 07:45 + minutes
    await clock.advance(0)
    clock._now = clock.now() + timedelta(minutes=minutes)  # jump either way, no sleepers
    d = await decide(gw, "s-anna", DOOR_1)
    assert d.allowed is allowed, d.reason
    if not allowed:
        assert d.code == "no_visit_now"
        assert "grace 10/15 min" in d.reason


async def test_a_visit_past_midnight_is_open_after_midnight(gw: Gateway, clock: FakeClock) -> None:
    # Monday 23:50 - Tuesday 00:20 local, staff s-anna by name; Tuesday 00:10 local
    clock._now = clock.now() + timedelta(hours=16, minutes=25)
    d = await decide(gw, "s-anna", DOOR_1)
    assert d.allowed and d.basis["staff"] == "s-anna", d.reason
    assert d.basis["end"].startswith("2026-01-06T00:20")


async def test_an_alarm_dispatched_to_the_caller_opens_the_door(gw: Gateway) -> None:
    # s-cleo has no visit to r-1002 now (s-bo's visit is at 10:00)
    assert not (await decide(gw, "s-cleo", DOOR_2)).allowed
    raised = make_event(
        "alarm.raised", tenant=TENANT, time=gw.clock.now(), resident="r-1002",
        source={"adapter": "scaip", "protocol": "scaip", "ref": "a-1"},
        device={"id": "scaip:unit-1002", "kind": "social_alarm"}, data={"kind": "fall"},
        priority="critical")
    await gw.emit([raised])
    operator = Actor(kind="operator", id="op-1")
    await gw.alarms.acknowledge(TENANT, raised.id, operator)
    # acknowledged but not dispatched: still no
    assert not (await decide(gw, "s-cleo", DOOR_2)).allowed
    await gw.alarms.dispatch(TENANT, raised.id, operator, Actor(kind="staff", id="s-cleo"))
    d = await decide(gw, "s-cleo", DOOR_2)
    assert d.allowed and d.code == "alarm" and d.basis["alarm"] == raised.id
    # ... only for that resident's door
    assert not (await decide(gw, "s-cleo", DOOR_1)).allowed
    # a team dispatch counts for every member of the team
    assert not (await decide(gw, "s-bo", DOOR_2)).allowed  # s-bo's visit is at 10:00
    await gw.alarms.dispatch(TENANT, raised.id, operator, Actor(kind="staff", id="team-syd"))
    assert (await decide(gw, "s-bo", DOOR_2)).code == "alarm"
    # once the alarm is closed, the door is shut to them again
    await gw.alarms.close(TENANT, raised.id, operator, "assistance_given")
    assert not (await decide(gw, "s-cleo", DOOR_2)).allowed


async def test_timezone_matters(gw: Gateway, clock: FakeClock) -> None:
    # 07:45 UTC is 08:45 in Stockholm: outside 07:30-08:00 + 15 min
    clock._now = clock.now() + timedelta(hours=1)
    d = await decide(gw, "s-anna", DOOR_1)
    assert not d.allowed and d.code == "no_visit_now"
