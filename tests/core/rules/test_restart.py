"""A gateway restarted on the same data keeps its open alarms, timers and supervision."""

from __future__ import annotations

from datetime import timedelta

from gateway import Actor, FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker

from .helpers import BED, TENANT, alarms_of, pass_time, raised, settle, stored, z2m

SILENT = "technical.unit_silent"


async def test_restart_keeps_open_alarms_and_derives_nothing_twice(
    settings: Settings, clock: FakeClock, broker: MemoryBroker
) -> None:
    first = Gateway(settings, clock=clock, mqtt=broker.client("navet-1"))
    await first.start()
    try:
        start = clock.now()
        await z2m(first, clock, "r1001_bed", {"occupancy": True})
        await z2m(first, clock, "r1002_door", {"contact": True})
        await first.emit([raised(clock)])
        await z2m(first, clock, "r1001_bed", {"battery": 10})
        await pass_time(first, clock, 130)  # a-1 escalated once; battery alarm open
        assert len(stored(first, "alarm.escalated", alarm="a-1")) == 1
        await clock.advance(1)
        await z2m(first, clock, "r1002_door", {"contact": True})
        await pass_time(first, clock, 1500)  # the bed falls silent at 1500 s
        fall_at = clock.now()
        await first.emit([raised(clock, "a-2", ref="2000", kind="fall")])
        await pass_time(first, clock, 60)  # stopped before a-2's first deadline
        before = first.store.count_events(TENANT)
        a1_steps = len(stored(first, "alarm.escalated", alarm="a-1"))
        open_before = {a.id: a.state for a in await first.alarms.open_alarms(TENANT)}
    finally:
        await first.stop()
    assert before["alarm.raised"] == 4, before  # a-1, a-2, low battery, bed silent
    assert a1_steps == 2  # a-1 walked the whole chain before the stop

    second = Gateway(settings, clock=clock, mqtt=broker.client("navet-2"))
    await second.start()
    try:
        await settle(second)
        assert second.store.count_events(TENANT) == before, "a restart derived something"
        assert {a.id: a.state for a in await second.alarms.open_alarms(TENANT)} == open_before

        # timers carry on from the store: a-2 escalates on time, a-1 stays at the chain's end
        await z2m(second, clock, "r1001_bed", {"battery": 10})  # still low: same episode
        await pass_time(second, clock, 1200)
        steps = stored(second, "alarm.escalated", alarm="a-2")
        assert [(e.data.level, e.time - fall_at) for e in steps] == [  # type: ignore[attr-defined]
            (1, timedelta(seconds=120)), (2, timedelta(seconds=240))]
        assert len(stored(second, "alarm.escalated", alarm="a-1")) == 2
        assert len(alarms_of(second, "technical.low_battery")) == 1
        [bed_silent] = alarms_of(second, SILENT, device=BED)
        assert bed_silent.time == start + timedelta(seconds=1500)

        # the bed was heard (battery report) after the restart: its silent alarm closed
        [online] = stored(second, "device.online", device=BED)
        assert online.alarm == bed_silent.alarm
        assert len(stored(second, "alarm.closed", alarm=bed_silent.alarm)) == 1

        await second.alarms.acknowledge(TENANT, "a-2", Actor(kind="operator", id="op-1"))
        await settle(second)
        view = await second.alarms.alarm(TENANT, "a-2")
        assert view is not None and view.state == "acknowledged" and view.escalation_level == 2
    finally:
        await second.stop()
