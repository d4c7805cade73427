"""The heartbeat fast path: routine heartbeats move last-seen in memory, not rows in the store.

A night of heartbeats runs on the fake clock in milliseconds; the store keeps the first
heartbeat of the device and whatever ends a silence, the rest only moves last-seen, which
reaches ``devices.last_seen`` once per flush interval; a restart gives every device one
heartbeat interval before it can be silent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker

from .helpers import BED, alarms_of, pass_time, settle, stored, z2m

SILENT = "technical.unit_silent"
BEAT = {"linkquality": 80}  # a Zigbee2MQTT message with nothing but the link: a heartbeat


def beat(n: int) -> dict[str, int]:
    """Heartbeat ``n``: a frame of its own (a raw frame's ref is its content's digest)."""
    return {"linkquality": 40 + n}


def frames(gw: Gateway) -> int:
    return int(gw.store.read_sync(lambda conn: conn.execute(
        "SELECT COUNT(*) FROM frames").fetchone()[0]))


def stored_last_seen(gw: Gateway, device: str) -> datetime | None:
    row = gw.store.read_sync(lambda conn: conn.execute(
        "SELECT last_seen FROM devices WHERE id = ?", (device,)).fetchone())
    return datetime.fromisoformat(row[0]) if row and row[0] else None


async def test_a_night_of_heartbeats_stores_the_first_and_what_ends_a_silence(
    gateway: Gateway, clock: FakeClock
) -> None:
    first = clock.now()
    for n in range(48):  # eight hours, every 600 s (the bed's heartbeat_s)
        await z2m(gateway, clock, "r1001_bed", beat(n))
        await pass_time(gateway, clock, 600, step=600)
    last = clock.now() - timedelta(seconds=600)
    [kept] = stored(gateway, "device.heartbeat", device=BED)  # only the first
    assert kept.time == first
    assert frames(gateway) == 1
    assert alarms_of(gateway, SILENT, device=BED) == []
    assert gateway.liveness.last(BED) == last.timestamp()

    await pass_time(gateway, clock, 1500, step=300)  # silent: 2.5 x 600 s after the last
    [alarm] = alarms_of(gateway, SILENT, device=BED)
    assert alarm.time == last + timedelta(seconds=1500)

    await pass_time(gateway, clock, 600)
    await z2m(gateway, clock, "r1001_bed", BEAT)  # back: this heartbeat is stored
    await settle(gateway)
    assert len(stored(gateway, "device.heartbeat", device=BED)) == 2
    [online] = stored(gateway, "device.online", device=BED)
    assert online.data.silent_s == (clock.now() - last).total_seconds()  # type: ignore[attr-defined]
    [closed] = stored(gateway, "alarm.closed", alarm=alarm.alarm)
    assert closed.data.outcome == "technical_fixed"  # type: ignore[attr-defined]

    await pass_time(gateway, clock, 600)
    await z2m(gateway, clock, "r1001_bed", BEAT)  # routine again
    await settle(gateway)
    assert len(stored(gateway, "device.heartbeat", device=BED)) == 2


async def test_last_seen_reaches_the_store_once_per_flush_interval(
    gateway: Gateway, clock: FakeClock
) -> None:
    await z2m(gateway, clock, "r1001_bed", BEAT)  # the first: stored, last_seen with it
    await settle(gateway)
    after_first = stored_last_seen(gateway, BED)
    assert after_first == clock.now()
    await pass_time(gateway, clock, 20, step=20)
    await z2m(gateway, clock, "r1001_bed", BEAT)  # routine: in memory only
    heard = clock.now()
    await settle(gateway)
    assert stored_last_seen(gateway, BED) == after_first  # not written per heartbeat
    assert gateway.liveness.pending() >= 1
    await pass_time(gateway, clock, 60, step=10)  # heartbeats.flush_interval_s (60)
    assert stored_last_seen(gateway, BED) == heard
    assert gateway.liveness.pending() == 0


async def test_heartbeats_are_stored_when_configured(tmp_path: object, clock: FakeClock,
                                                     settings: Settings,
                                                     broker: MemoryBroker) -> None:
    gw = Gateway(settings.model_copy(update={"heartbeats": settings.heartbeats.model_copy(
        update={"store": True})}), clock=clock, mqtt=broker.client("navet-store"))
    await gw.start()
    try:
        for n in range(3):
            await z2m(gw, clock, "r1001_bed", beat(n))
            await pass_time(gw, clock, 600, step=600)
        assert len(stored(gw, "device.heartbeat", device=BED)) == 3
        assert frames(gw) == 3
    finally:
        await gw.stop()


async def test_a_restart_gives_every_device_one_interval_before_it_is_silent(
    settings: Settings, clock: FakeClock, broker: MemoryBroker
) -> None:
    first = Gateway(settings, clock=clock, mqtt=broker.client("navet-1"))
    await first.start()
    try:
        for _ in range(6):
            await z2m(first, clock, "r1001_bed", BEAT)
            await pass_time(first, clock, 600, step=600)
    finally:
        await first.stop()  # writes what the flush had not yet written
    last = clock.now() - timedelta(seconds=600)
    assert stored_last_seen(first, BED) == last

    await clock.advance(3 * 3600)  # Navet is down three hours; the bed goes on beating
    second = Gateway(settings, clock=clock, mqtt=broker.client("navet-2"))
    await second.start()
    try:
        await settle(second)
        await pass_time(second, clock, 590, step=10)
        assert alarms_of(second, SILENT, device=BED) == []  # last seen 3 h ago: not silent yet
        await z2m(second, clock, "r1001_bed", BEAT)  # its next beat, within one interval
        beat = clock.now()
        await pass_time(second, clock, 1490, step=10)
        assert alarms_of(second, SILENT, device=BED) == []
        await pass_time(second, clock, 20, step=10)  # then it falls silent for real
        [alarm] = alarms_of(second, SILENT, device=BED)
        assert alarm.time == beat + timedelta(seconds=1500)
    finally:
        await second.stop()
