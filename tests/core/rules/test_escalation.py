"""An alarm nobody acknowledges walks the tenant's receiver chain on the injected clock."""

from __future__ import annotations

from gateway import Actor, FakeClock
from gateway.core.gateway import Gateway

from .helpers import CHAIN, TENANT, open_care_alarms, pass_time, raised, settle, stored

OP = Actor(kind="operator", id="op-1")


async def test_unacknowledged_alarm_escalates_along_the_chain_and_stops_at_its_end(
    gateway: Gateway, clock: FakeClock
) -> None:
    start = clock.now()
    await gateway.emit([raised(clock)])
    await settle(gateway)

    await pass_time(gateway, clock, 119, step=119)
    assert stored(gateway, "alarm.escalated", alarm="a-1") == []

    await pass_time(gateway, clock, 2, step=2)
    [first] = stored(gateway, "alarm.escalated", alarm="a-1")
    assert (first.data.level, first.data.to) == (1, "team-norr")  # type: ignore[attr-defined]
    assert first.data.reason == "not acknowledged by centre within 120 s"  # type: ignore[attr-defined]
    assert (first.time - start).total_seconds() == 120
    assert first.priority == "critical" and first.resident == "r-1001"

    await pass_time(gateway, clock, 3600)  # an hour: the chain has only two more steps
    steps = stored(gateway, "alarm.escalated", alarm="a-1")
    assert [(e.data.level, e.data.to, (e.time - start).total_seconds())  # type: ignore[attr-defined]
            for e in steps] == [(1, "team-norr", 120), (2, "on-call", 240)]

    [view] = await open_care_alarms(gateway)
    assert view.escalation_level == 2 and view.escalated_to == CHAIN[-1]
    assert view.overdue, "past the end of the chain the alarm stays flagged"

    await gateway.alarms.acknowledge(TENANT, "a-1", OP)
    await settle(gateway)
    [view] = await open_care_alarms(gateway)
    assert view.state == "acknowledged" and not view.overdue and view.ack_due is None


async def test_acknowledged_alarm_does_not_escalate(gateway: Gateway, clock: FakeClock) -> None:
    await gateway.emit([raised(clock)])
    await settle(gateway)
    await pass_time(gateway, clock, 100, step=100)
    await gateway.alarms.acknowledge(TENANT, "a-1", OP)
    await pass_time(gateway, clock, 1000)
    assert stored(gateway, "alarm.escalated", alarm="a-1") == []


async def test_low_priority_alarm_does_not_escalate(gateway: Gateway, clock: FakeClock) -> None:
    await gateway.emit([raised(clock, "a-low", kind="passive.other", priority="low")])
    await pass_time(gateway, clock, 1000)
    assert stored(gateway, "alarm.escalated", alarm="a-low") == []
    [view] = await open_care_alarms(gateway)
    assert view.id == "a-low" and not view.overdue
