"""The alarm projection equals the fold of the whole history, whatever happened.

A long random scenario drives a gateway the way devices and operators do:
alarms raised by two units in two kinds (so repeats are folded into the open
alarm), the same alarm raised again, restorals (cancels) of open and folded
alarms, device updates, every operator command (acknowledge, dispatch, attend,
close, note) whether it fits the state or not, time passing (escalations) and
restarts. After each restart and at the end, the ``alarms`` table, the
in-memory index and the fold of every stored alarm event must say the same.
"""

from __future__ import annotations

import random
from dataclasses import fields
from typing import Any

import pytest

from gateway import Actor, FakeClock, make_event
from gateway.core.alarmstate import AlarmRecord, fold_history
from gateway.core.gateway import Gateway
from gateway.core.model import EventAdapter
from gateway.core.settings import Settings
from gateway.core.store.alarms import read_alarms
from gateway.errors import TransitionError, UnknownAlarmError
from gateway.transports.memory import MemoryBroker

from .helpers import TENANT, pass_time, settle

UNITS = ("scaip:unit-1", "scaip:unit-2")
KINDS = ("personal_button", "fall")
VIEW_ONLY = {"history", "ack_due", "overdue"}


def summary(rec: AlarmRecord) -> dict[str, Any]:
    return {f.name: getattr(rec, f.name) for f in fields(rec) if f.name not in VIEW_ONLY}


def history_fold(gw: Gateway) -> tuple[dict[tuple[str, str], dict[str, Any]],
                                       dict[tuple[str, str], str]]:
    events = gw.store.read_sync(lambda conn: [
        (int(r[0]), EventAdapter.validate_json(r[1])) for r in conn.execute(
            "SELECT seq, body FROM events WHERE type LIKE 'alarm.%' ORDER BY seq")])
    records, into, _ = fold_history(events)
    return {(r.tenant, r.id): summary(r) for r in records if r.state is not None}, into


def projection(gw: Gateway) -> tuple[dict[tuple[str, str], dict[str, Any]],
                                     dict[tuple[str, str], str]]:
    def read(conn: Any) -> tuple[list[AlarmRecord], dict[tuple[str, str], str]]:
        folded = {(r[0], r[1]): r[2] for r in conn.execute(
            "SELECT tenant, id, folded_into FROM alarms WHERE folded_into IS NOT NULL")}
        return read_alarms(conn, open_only=False), folded

    records, folded = gw.store.read_sync(read)
    return {(r.tenant, r.id): summary(r) for r in records}, folded


def assert_consistent(gw: Gateway) -> int:
    want, want_into = history_fold(gw)
    got, got_into = projection(gw)
    assert got_into == want_into
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == want[key], key
    index = {(r.tenant, r.id): summary(r) for r in gw.store.alarm_index.open()}
    assert index == {k: v for k, v in want.items() if v["state"].open}
    for (tenant, folded), root in want_into.items():  # a folded id reads as its alarm
        if want[(tenant, root)]["state"].open:
            assert gw.store.alarm_index.get(tenant, folded) is not None
    return len(want)


def device_event(clock: FakeClock, etype: str, unit: str, alarm: str, n: int,
                 **data: Any) -> Any:
    return make_event(
        etype, tenant=TENANT, time=clock.now(),
        source={"adapter": "scaip", "protocol": "scaip", "ref": f"r{n}"},
        device={"id": unit, "kind": "social_alarm"}, resident="r-1001", alarm=alarm,
        priority="critical" if etype == "alarm.raised" and n % 3 else None,
        location={"text": "Hall"} if etype == "alarm.raised" else None, data=data)


@pytest.mark.parametrize("seed", [14, 2026])
async def test_projection_equals_the_fold_of_history_through_a_long_random_scenario(
    seed: int, settings: Settings, clock: FakeClock, broker: MemoryBroker,
) -> None:
    rng = random.Random(seed)
    op = [Actor(kind="operator", id="op-1"), Actor(kind="operator", id="op-2")]
    staff = Actor(kind="staff", id="s-7")
    alarms: list[tuple[str, str, str]] = []  # (alarm id, unit, kind) raised so far
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet-0"))
    await gw.start()
    restarts = folds = 0
    try:
        for n in range(160):
            roll = rng.random()
            if roll < 0.28 or not alarms:  # a new alarm (a repeat press is folded)
                unit, kind = rng.choice(UNITS), rng.choice(KINDS)
                alarm = f"a-{n}"
                alarms.append((alarm, unit, kind))
                await gw.emit([device_event(clock, "alarm.raised", unit, alarm, n, kind=kind,
                                            text=f"press {n}")])
            elif roll < 0.36:  # the same alarm again
                alarm, unit, kind = rng.choice(alarms)
                await gw.emit([device_event(clock, "alarm.raised", unit, alarm, n, kind=kind)])
            elif roll < 0.46:  # a restoral: the unit ends its alarm
                alarm, unit, _ = rng.choice(alarms)
                await gw.emit([device_event(clock, "alarm.cancelled", unit, alarm, n,
                                            reason="resident")])
            elif roll < 0.52:
                alarm, unit, _ = rng.choice(alarms)
                await gw.emit([device_event(clock, "alarm.updated", unit, alarm, n,
                                            text=f"update {n}")])
            elif roll < 0.90:  # an operator or staff member does something
                alarm = rng.choice(alarms)[0]
                who = rng.choice(op)
                command = rng.choice(["acknowledge", "dispatch", "attend", "close", "note"])
                try:
                    if command == "acknowledge":
                        await gw.alarms.acknowledge(TENANT, alarm, who)
                    elif command == "dispatch":
                        await gw.alarms.dispatch(TENANT, alarm, who, staff)
                    elif command == "attend":
                        await gw.alarms.attend(TENANT, alarm, staff)
                    elif command == "close":
                        await gw.alarms.close(TENANT, alarm, who, rng.choice(
                            ["assistance_given", "false_alarm"]))
                    else:
                        await gw.alarms.add_note(TENANT, alarm, who, f"note {n}")
                except (TransitionError, UnknownAlarmError):
                    pass  # refused: fine, the projection must still agree
            elif roll < 0.96:
                await pass_time(gw, clock, rng.choice([30, 130]))  # escalations
            else:
                await gw.stop()
                restarts += 1
                gw = Gateway(settings, clock=clock, mqtt=broker.client(f"navet-{restarts}"))
                await gw.start()
                await settle(gw)
                assert_consistent(gw)
            await settle(gw)
            await clock.advance(1)
        count = assert_consistent(gw)
        _, into = projection(gw)
        folds = len(into)
    finally:
        await gw.stop()
    assert count >= 5 and folds >= 10, (count, folds)  # the scenario did what it says


async def test_the_migration_fills_the_projection_from_the_history(
    settings: Settings, clock: FakeClock, broker: MemoryBroker,
) -> None:
    """A database from before the projection: emptied table, migrations 7-8 again."""
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet-a"))
    await gw.start()
    try:
        await gw.emit([device_event(clock, "alarm.raised", UNITS[0], "a-1", 1,
                                    kind="personal_button")])
        await settle(gw)
        await gw.emit([device_event(clock, "alarm.raised", UNITS[0], "a-2", 2,
                                    kind="personal_button")])  # folded into a-1
        await settle(gw)
        await gw.alarms.acknowledge(TENANT, "a-2", Actor(kind="operator", id="op-1"))
        await settle(gw)
        before = projection(gw)
        assert before[1] == {(TENANT, "a-2"): "a-1"}

        def forget(conn: Any) -> None:
            conn.execute("DELETE FROM alarms")
            conn.execute("DELETE FROM schema_version WHERE version >= 7")
            conn.execute("DROP TABLE alarms")

        await gw.store.write(forget)
    finally:
        await gw.stop()
    again = Gateway(settings, clock=clock, mqtt=broker.client("navet-b"))
    await again.start()
    try:
        assert projection(again) == before
        assert assert_consistent(again) == 1
        assert (await again.alarms.status(TENANT, "a-2")) == ("a-1", "acknowledged")
    finally:
        await again.stop()
