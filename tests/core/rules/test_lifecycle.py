"""The alarm lifecycle as an alarm centre operator drives it through AlarmService."""

from __future__ import annotations

import asyncio

import pytest

from gateway import Actor, FakeClock
from gateway.core.alarms import AlarmService
from gateway.core.gateway import Gateway
from gateway.errors import TransitionError, UnknownAlarmError

from .helpers import (
    TENANT,
    UNIT,
    cancelled,
    open_care_alarms,
    pass_time,
    raised,
    settle,
    stored,
)

OP1 = Actor(kind="operator", id="op-1", name="Anna")
OP2 = Actor(kind="operator", id="op-2")
NURSE = Actor(kind="staff", id="s-17", name="Nurse on round")


async def test_full_lifecycle_happy_path(gateway: Gateway, clock: FakeClock) -> None:
    await gateway.emit([raised(clock)])
    await settle(gateway)

    [view] = await open_care_alarms(gateway)
    assert (view.id, view.state, view.kind, view.priority) == ("a-1", "raised",
                                                               "personal_button", "critical")
    assert (view.resident, view.device and view.device.id) == ("r-1001", UNIT)
    assert view.location is not None and view.location.text == "Hall"
    assert view.ack_due is not None and (view.ack_due - clock.now()).total_seconds() == 120

    await clock.advance(30)
    ack = await gateway.alarms.acknowledge(TENANT, "a-1", OP1)
    await clock.advance(10)
    await gateway.alarms.dispatch(TENANT, "a-1", OP1, to=NURSE)
    await clock.advance(600)
    await gateway.alarms.attend(TENANT, "a-1", NURSE)
    await clock.advance(900)
    close = await gateway.alarms.close(TENANT, "a-1", NURSE, "assistance_given", note="helped up")
    await settle(gateway)

    history = stored(gateway, "alarm.", alarm="a-1")
    assert [e.type for e in history] == ["alarm.raised", "alarm.acknowledged", "alarm.dispatched",
                                         "alarm.attended", "alarm.closed"]
    by = [(e.data.by.id, e.time) for e in history[1:]]  # type: ignore[attr-defined]
    start = history[0].time
    assert [(who, (t - start).total_seconds()) for who, t in by] == [
        ("op-1", 30), ("op-1", 40), ("s-17", 640), ("s-17", 1540)]
    assert history[2].data.to == NURSE  # type: ignore[attr-defined]
    assert ack.source.adapter == "navet" and ack.resident == "r-1001" and ack.alarm == "a-1"
    assert close.data.outcome == "assistance_given"  # type: ignore[attr-defined]

    assert await open_care_alarms(gateway) == []
    done = await gateway.alarms.alarm(TENANT, "a-1")
    assert done is not None and done.state == "closed" and done.outcome == "assistance_given"
    assert done.as_dict()["closed_by"]["id"] == "s-17"
    assert stored(gateway, "alarm.escalated", alarm="a-1") == []  # acknowledged in time


async def test_cancel_before_handling(gateway: Gateway, clock: FakeClock) -> None:
    await gateway.emit([raised(clock)])
    await clock.advance(5)
    await gateway.emit([cancelled(clock)])
    await settle(gateway)

    assert await open_care_alarms(gateway) == []
    rec = await gateway.alarms.alarm(TENANT, "a-1")
    assert rec is not None and rec.state == "cancelled"
    with pytest.raises(TransitionError, match="it is cancelled") as err:
        await gateway.alarms.acknowledge(TENANT, "a-1", OP1)
    assert err.value.current == "cancelled"
    await pass_time(gateway, clock, 600)
    assert stored(gateway, "alarm.escalated", alarm="a-1") == []  # nothing left to escalate


async def test_cancel_after_acknowledge_leaves_the_alarm_with_its_owner(
    gateway: Gateway, clock: FakeClock
) -> None:
    await gateway.emit([raised(clock)])
    await gateway.alarms.acknowledge(TENANT, "a-1", OP1)
    await gateway.emit([cancelled(clock)])
    await settle(gateway)

    [view] = await open_care_alarms(gateway)
    assert view.state == "acknowledged" and view.cancel_requested
    await gateway.alarms.close(TENANT, "a-1", OP1, "no_action_needed")
    assert await open_care_alarms(gateway) == []


async def test_stale_transitions_are_refused_naming_the_current_state(
    gateway: Gateway, clock: FakeClock
) -> None:
    await gateway.emit([raised(clock)])

    with pytest.raises(TransitionError, match="it is raised; acknowledge it first") as err:
        await gateway.alarms.close(TENANT, "a-1", OP1, "false_alarm")
    assert err.value.current == "raised"

    await gateway.alarms.acknowledge(TENANT, "a-1", OP1)
    with pytest.raises(TransitionError, match=r"it is acknowledged .*by operator op-1") as err:
        await gateway.alarms.acknowledge(TENANT, "a-1", OP2)  # op-2 was too late
    assert err.value.current == "acknowledged"

    await gateway.alarms.close(TENANT, "a-1", OP1, "false_alarm")
    with pytest.raises(TransitionError, match="cannot attend alarm a-1: it is closed"):
        await gateway.alarms.attend(TENANT, "a-1", NURSE)
    with pytest.raises(TransitionError, match="it is closed"):
        await gateway.alarms.close(TENANT, "a-1", OP1, "assistance_given")  # other outcome
    with pytest.raises(UnknownAlarmError, match="no alarm 'nope' in tenant 'vasteras'"):
        await gateway.alarms.acknowledge(TENANT, "nope", OP1)
    with pytest.raises(UnknownAlarmError):
        await gateway.alarms.acknowledge("other-town", "a-1", OP1)  # tenants are isolated

    acks = stored(gateway, "alarm.acknowledged", alarm="a-1")
    assert [e.data.by.id for e in acks] == ["op-1"]  # type: ignore[attr-defined]


async def test_two_operators_racing_from_two_instances_cannot_both_acknowledge(
    gateway: Gateway, clock: FakeClock
) -> None:
    await gateway.emit([raised(clock)])
    other_instance = AlarmService(gateway.store, clock, gateway.emit)  # its own locks
    results = await asyncio.gather(
        gateway.alarms.acknowledge(TENANT, "a-1", OP1),
        other_instance.acknowledge(TENANT, "a-1", OP2),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, TransitionError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].current == "acknowledged"
    assert len(stored(gateway, "alarm.acknowledged", alarm="a-1")) == 1


async def test_repeating_a_command_returns_the_stored_event(
    gateway: Gateway, clock: FakeClock
) -> None:
    await gateway.emit([raised(clock)])
    first = await gateway.alarms.acknowledge(TENANT, "a-1", OP1)
    await clock.advance(3)  # a retried HTTP request arrives a little later
    again = await gateway.alarms.acknowledge(TENANT, "a-1", OP1)
    assert again.id == first.id and again.time == first.time

    await gateway.alarms.dispatch(TENANT, "a-1", OP1, to=NURSE)
    await gateway.alarms.dispatch(TENANT, "a-1", OP1, to=NURSE)
    note = await gateway.alarms.add_note(TENANT, "a-1", OP1, "resident answers, in pain")
    assert (await gateway.alarms.add_note(TENANT, "a-1", OP1, "resident answers, in pain")).id \
        == note.id
    closed = await gateway.alarms.close(TENANT, "a-1", OP1, "assistance_given")
    assert (await gateway.alarms.close(TENANT, "a-1", OP1, "assistance_given")).id == closed.id
    await settle(gateway)

    types = [e.type for e in stored(gateway, "alarm.", alarm="a-1")]
    assert types == ["alarm.raised", "alarm.acknowledged", "alarm.dispatched", "alarm.updated",
                     "alarm.closed"]
    [upd] = stored(gateway, "alarm.updated", alarm="a-1")
    assert upd.data.text == "[operator op-1] resident answers, in pain"  # type: ignore[attr-defined]


async def test_a_second_raise_from_the_same_device_joins_the_open_alarm(
    gateway: Gateway, clock: FakeClock
) -> None:
    await gateway.emit([raised(clock)])
    await clock.advance(20)
    await gateway.emit([raised(clock, "a-1", ref="1250")])  # same alarm id again: a repeat
    await clock.advance(20)
    await gateway.emit([raised(clock, "a-2", ref="1260")])  # pressed again: a new alarm id
    await settle(gateway)

    [view] = await open_care_alarms(gateway)
    assert view.id == "a-1" and view.repeats == 2 and view.folded == ["a-2"]
    assert "raised again by the device (alarm a-2)" in (view.text or "")
    # issue 12: the folded press is nobody's cancel; it belongs to a-1 and shares its state
    assert stored(gateway, "alarm.cancelled") == []
    [fold] = stored(gateway, "alarm.updated", alarm="a-1")
    assert fold.data.folded.model_dump() == {"alarm": "a-2", "ref": "1260", "repeats": 1}  # type: ignore[attr-defined]
    dup = await gateway.alarms.alarm(TENANT, "a-2")
    assert dup is not None and dup.id == "a-1" and dup.state == "raised"
    assert await gateway.alarms.state(TENANT, "a-2") == "raised"

    await clock.advance(20)
    await gateway.emit([raised(clock, "a-3", ref="1270")])  # and again
    await settle(gateway)
    [view] = await open_care_alarms(gateway)
    assert view.folded == ["a-2", "a-3"]
    [_, second] = stored(gateway, "alarm.updated", alarm="a-1")
    assert second.data.folded.repeats == 2  # type: ignore[attr-defined]

    # a person takes the alarm through a folded id: the alarm it belongs to is taken
    ack = await gateway.alarms.acknowledge(TENANT, "a-3", OP1)
    assert ack.alarm == "a-1"
    await settle(gateway)
    assert await gateway.alarms.state(TENANT, "a-2") == "acknowledged"
    await gateway.alarms.close(TENANT, "a-1", OP1, "assistance_given")
    await settle(gateway)
    assert await open_care_alarms(gateway) == []  # no folded alarm is left behind open
    assert await gateway.alarms.state(TENANT, "a-2") == "closed"

    await gateway.emit([raised(clock, "a-4", ref="1280")])  # after the close: a new alarm
    await settle(gateway)
    [view] = await open_care_alarms(gateway)
    assert view.id == "a-4" and view.folded == []


async def test_a_folded_press_ending_on_its_own_does_not_end_the_alarm(
    gateway: Gateway, clock: FakeClock
) -> None:
    """A panel restores the zone of the press that was folded: that press is over, the
    alarm it was folded into is not (only its own restoral, or a person, ends it)."""
    await gateway.emit([raised(clock)])
    await clock.advance(20)
    await gateway.emit([raised(clock, "a-2", ref="1260")])
    await settle(gateway)
    await gateway.emit([cancelled(clock, "a-2", ref="1261")])
    await settle(gateway)
    assert await gateway.alarms.state(TENANT, "a-1") == "raised"
    [view] = await open_care_alarms(gateway)
    assert view.id == "a-1" and view.history[-1].alarm == "a-2"  # the restoral is noted

    await gateway.emit([cancelled(clock, "a-1", ref="1262")])
    await settle(gateway)
    assert await open_care_alarms(gateway) == []
    assert await gateway.alarms.state(TENANT, "a-2") == "cancelled"
