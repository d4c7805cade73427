"""A passive sensor with several inputs: the alarm names the input (``location.zone``)."""

from __future__ import annotations

from gateway import FakeClock
from gateway.core.gateway import Gateway

from .helpers import alarms_of, pass_time, stored
from .test_passive import clock as clock  # fixtures: a January evening in Stockholm
from .test_passive import local, report, until_local
from .test_passive import settings as settings


async def test_a_leak_on_one_endpoint_raises_an_alarm_naming_that_endpoint(
    gateway: Gateway, clock: FakeClock,
) -> None:
    await until_local(gateway, clock, local(15, 10), step=1800)
    await report(gateway, clock, "r1001_leak", water_leak_l1=False, water_leak_l2=True)
    reports = stored(gateway, "sensor.reported", device="zigbee2mqtt:r1001_leak")
    assert sorted((r.location.zone if r.location else None) for r in reports) == ["l1", "l2"]
    [leak] = alarms_of(gateway, "passive.water_leak")
    assert leak.location is not None
    assert (leak.location.zone, leak.location.text) == ("l2", "Kök")  # input and place


async def test_the_inputs_of_one_sensor_are_tracked_apart(
    gateway: Gateway, clock: FakeClock,
) -> None:
    # a mat with two sides: one side's "occupied" says nothing about the other side
    await report(gateway, clock, "r1001_bed", occupancy_left=True, occupancy_right=True)
    await until_local(gateway, clock, local(15, 3, 10))
    await report(gateway, clock, "r1001_bed", occupancy_left=False)  # 03:10, up
    await report(gateway, clock, "r1001_bed", occupancy_right=True)  # the other side sleeps on
    await pass_time(gateway, clock, 601, step=601)
    [exit_alarm] = alarms_of(gateway, "passive.bed_exit")
    assert exit_alarm.location is not None
    assert (exit_alarm.location.zone, exit_alarm.location.text) == ("left", "Sovrum")
