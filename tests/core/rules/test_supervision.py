"""Silent units over a night of device life, and technical alarms from device reports."""

from __future__ import annotations

from datetime import timedelta

from gateway import FakeClock, make_event
from gateway.core.gateway import Gateway

from .helpers import BED, DOOR, TENANT, alarms_of, pass_time, settle, stored, z2m

SILENT = "technical.unit_silent"


async def test_a_night_of_heartbeats_raises_one_silent_alarm_per_silence(
    gateway: Gateway, clock: FakeClock
) -> None:
    # 22:00-02:00 both sensors report every 10 minutes (heartbeat_s 600)
    for _ in range(24):
        await z2m(gateway, clock, "r1001_bed", {"occupancy": True, "linkquality": 80})
        await z2m(gateway, clock, "r1002_door", {"contact": True})
        await pass_time(gateway, clock, 600, step=600)
    assert alarms_of(gateway, SILENT) == []

    # the bed sensor falls silent; the door keeps reporting for four more hours
    bed_last = stored(gateway, "device.heartbeat", device=BED)[-1].time
    for _ in range(24):
        await z2m(gateway, clock, "r1002_door", {"contact": True})
        await pass_time(gateway, clock, 600, step=300)

    [alarm] = alarms_of(gateway, SILENT)
    assert alarm.device is not None and alarm.device.id == BED
    assert alarm.time == bed_last + timedelta(seconds=1500)  # 2.5 x 600 s, the tenant default
    assert (alarm.priority, alarm.resident) == ("high", "r-1001")
    assert alarm.location is not None and alarm.location.text == "Sovrum"
    [view] = [a for a in await gateway.alarms.open_alarms(TENANT) if a.kind == SILENT]
    assert view.id == alarm.alarm and view.state == "raised"

    # it comes back at 06:00
    await z2m(gateway, clock, "r1001_bed", {"occupancy": False})
    await settle(gateway)
    [online] = stored(gateway, "device.online", device=BED)
    assert online.data.silent_s == (clock.now() - bed_last).total_seconds()  # type: ignore[attr-defined]
    assert online.alarm == alarm.alarm
    [closed] = stored(gateway, "alarm.closed", alarm=alarm.alarm)
    assert closed.data.outcome == "technical_fixed"  # type: ignore[attr-defined]
    assert closed.data.by.kind == "system"  # type: ignore[attr-defined]
    assert [a for a in await gateway.alarms.open_alarms(TENANT) if a.kind == SILENT] == []

    # the door uses its own tolerance (3600 s): silent 50 min is fine, 61 min is not
    door_last = stored(gateway, "device.heartbeat", device=DOOR)[-1].time
    await pass_time(gateway, clock, (door_last + timedelta(seconds=3000) - clock.now()).seconds)
    assert alarms_of(gateway, SILENT, device=DOOR) == []
    await pass_time(gateway, clock, 660)
    [door_alarm] = alarms_of(gateway, SILENT, device=DOOR)
    assert door_alarm.time == door_last + timedelta(seconds=3600)
    assert len(alarms_of(gateway, SILENT, device=BED)) == 2  # the bed is silent again too


async def test_interval_announced_by_the_device_is_supervised(
    gateway: Gateway, clock: FakeClock
) -> None:
    device = {"id": "scaip:unit-9", "kind": "social_alarm"}  # not in the care configuration
    beat = make_event("device.heartbeat", tenant=TENANT, time=clock.now(), device=device,
                      source={"adapter": "scaip", "protocol": "scaip", "ref": "9-1"},
                      data={"interval_s": 60})
    await gateway.emit([beat])
    await settle(gateway)
    await pass_time(gateway, clock, 149, step=149)
    assert alarms_of(gateway, SILENT, device="scaip:unit-9") == []
    await pass_time(gateway, clock, 2, step=2)
    [alarm] = alarms_of(gateway, SILENT, device="scaip:unit-9")
    assert alarm.time == beat.time + timedelta(seconds=150)


async def test_low_battery_is_one_alarm_per_episode(gateway: Gateway, clock: FakeClock) -> None:
    for level in (15, 14, 14, 13):  # every report while low: one alarm
        await z2m(gateway, clock, "r1001_bed", {"battery": level, "occupancy": True})
        await pass_time(gateway, clock, 300, step=300)
    [first] = alarms_of(gateway, "technical.low_battery")
    assert (first.priority, first.resident, first.device and first.device.id) == \
        ("low", "r-1001", BED)
    assert first.data.text == "battery low (15 %)"  # type: ignore[attr-defined]
    assert stored(gateway, "alarm.escalated", alarm=first.alarm) == []  # low does not escalate

    await z2m(gateway, clock, "r1001_bed", {"battery": 100})  # battery changed
    await settle(gateway)
    [closed] = stored(gateway, "alarm.closed", alarm=first.alarm)
    assert closed.data.outcome == "technical_fixed"  # type: ignore[attr-defined]
    assert closed.data.note == "battery ok again (100 %)"  # type: ignore[attr-defined]
    await pass_time(gateway, clock, 60)
    await z2m(gateway, clock, "r1001_bed", {"battery": 99})
    await settle(gateway)
    assert len(alarms_of(gateway, "technical.low_battery")) == 1

    await pass_time(gateway, clock, 600)
    await z2m(gateway, clock, "r1001_bed", {"battery": 12})  # a new episode
    await settle(gateway)
    second = alarms_of(gateway, "technical.low_battery")[-1]
    assert len(alarms_of(gateway, "technical.low_battery")) == 2 and second.alarm != first.alarm


async def test_offline_is_link_lost_not_also_silent(gateway: Gateway, clock: FakeClock) -> None:
    await z2m(gateway, clock, "r1001_bed", {"occupancy": True})
    await settle(gateway)
    await z2m(gateway, clock, "r1001_bed", "offline", availability=True)
    await pass_time(gateway, clock, 7200, step=600)
    [lost] = alarms_of(gateway, "technical.link_lost")
    assert lost.priority == "high" and lost.device is not None and lost.device.id == BED
    assert alarms_of(gateway, SILENT, device=BED) == []

    await z2m(gateway, clock, "r1001_bed", "online", availability=True)
    await settle(gateway)
    [closed] = stored(gateway, "alarm.closed", alarm=lost.alarm)
    assert closed.data.note == "device online again"  # type: ignore[attr-defined]


async def test_mains_lost_fault_raises_and_clears(gateway: Gateway, clock: FakeClock) -> None:
    def fault(active: bool, ref: str) -> object:
        return make_event("device.fault", tenant=TENANT, time=clock.now(),
                          device={"id": "scaip:unit-1", "kind": "social_alarm"},
                          source={"adapter": "scaip", "protocol": "scaip", "ref": ref},
                          data={"kind": "mains_lost", "active": active})

    await gateway.emit([fault(True, "f1"), fault(True, "f2")])
    await settle(gateway)
    [alarm] = alarms_of(gateway, "technical.mains_lost")
    assert alarm.resident == "r-1001" and alarm.priority == "normal"
    await gateway.emit([fault(False, "f3")])
    await settle(gateway)
    assert len(stored(gateway, "alarm.closed", alarm=alarm.alarm)) == 1
