"""Retention per kind: settings, the prune (chunked, keeping what must stay), its schedule.

PostgreSQL's monthly frame partitions are tested in tests/core/test_retention_postgres.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from gateway import Actor, FakeClock, RawFrame, make_event
from gateway.core.gateway import Gateway
from gateway.core.model import EventBase
from gateway.core.retention import KINDS, Pruner
from gateway.core.settings import AUDIT_MIN_DAYS, RetentionSettings, Settings, load_settings
from gateway.core.store.repos.retention import LIVENESS_TYPES
from gateway.errors import ConfigError
from gateway.transports.memory import MemoryBroker

DAY = 24 * 3600
SRC = {"adapter": "navet", "protocol": "test"}
STAFF = Actor(kind="staff", id="s-anna")


# --------------------------------------------------------------------------- settings


def test_every_kind_has_a_period_and_the_defaults_keep_care_events() -> None:
    r = RetentionSettings()
    assert {k: getattr(r, f"{k}_days") for k in KINDS} == {
        "dead_letters": 30, "frames": 30, "heartbeats": 7, "events": 0, "outbox": 30,
        "sessions": 1, "audit": 0}
    assert r.prune_interval_s == DAY


def test_the_old_settings_still_set_their_kinds(tmp_path: Path) -> None:
    cfg = tmp_path / "navet.yaml"
    cfg.write_text("privacy: {retention_days: 90, frames_retention_days: 14}\n"
                   f"audit: {{retention_days: {AUDIT_MIN_DAYS + 10}}}\n")
    r = load_settings(cfg).retention
    assert (r.events_days, r.frames_days, r.dead_letters_days, r.audit_days) == (
        90, 14, 14, AUDIT_MIN_DAYS + 10)
    assert r.heartbeats_days == 7  # a kind the old settings did not name keeps its default
    cfg.write_text("privacy: {retention_days: 90}\nretention: {events_days: 30}\n")
    with pytest.raises(ConfigError, match=r"privacy.retention_days \(90\) and "
                                          r"retention.events_days \(30\) disagree"):
        load_settings(cfg)


@pytest.mark.parametrize("text, setting", [
    ("retention: {audit_days: 365}", "retention.audit_days"),
    ("audit: {retention_days: 1000}", "audit.retention_days"),
])
def test_an_audit_period_under_five_years_is_refused_naming_the_setting(
        tmp_path: Path, text: str, setting: str) -> None:
    cfg = tmp_path / "navet.yaml"
    cfg.write_text(text + "\n")
    with pytest.raises(ConfigError, match=rf"{setting}(:| is) \d+ days, shorter than the "
                                          rf"five years \({AUDIT_MIN_DAYS} days\)"):
        load_settings(cfg)
    cfg.write_text("retention: {audit_days: 0}\n")  # keeping it all is allowed
    assert load_settings(cfg).retention.audit_days == 0


# --------------------------------------------------------------------------- the prune


def heartbeat(n: int, at: object) -> EventBase:
    return make_event("device.heartbeat", tenant="vasteras", time=at,
                      source={**SRC, "ref": f"hb-{n}"}, device={"id": "scaip:u1",
                                                                   "kind": "social_alarm"},
                      data={})


def reading(n: int, at: object) -> EventBase:
    return make_event("alarm.raised", tenant="vasteras", time=at, alarm=f"a-{n}",
                      source={**SRC, "ref": f"ev-{n}"}, data={"kind": "fall"})


async def settle(gateway: Gateway) -> None:
    if gateway.rules is not None:
        await gateway.rules.drain()

    for _ in range(500):  # the root fixture's northbound subscription delivers meanwhile
        if not gateway.store.outbox_depth():
            return
        await asyncio.sleep(0.01)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
        subscriptions=[{"id": "nb", "tenant": "vasteras", "sink": "mqtt", "types": ["*"]}],
        audit={"checkpoint_interval_s": "30d"},  # days of fake time pass: few wake-ups
        retention={"heartbeats_days": 7, "events_days": 60, "frames_days": 30,
                   "dead_letters_days": 30, "audit_days": AUDIT_MIN_DAYS, "chunk_rows": 100,
                   "prune_interval_s": "24h"})


async def test_each_kind_goes_after_its_own_period_in_chunks(
        gateway: Gateway, clock: FakeClock) -> None:
    t0 = clock.now()
    await gateway.emit([heartbeat(n, t0) for n in range(250)])
    await gateway.emit([reading(n, t0) for n in range(3)])
    await gateway.ingest(RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed",
                                  b'{"occupancy": true}', t0))
    await gateway.ingest(RawFrame("zigbee2mqtt", "vasteras", "mqtt", "zigbee2mqtt/bed",
                                  b"not json", t0))  # a dead letter, which keeps its frame
    await settle(gateway)
    # close two of the three alarms: the open one keeps its history whatever its age
    for n in (0, 1):
        await gateway.emit([make_event("alarm.cancelled", tenant="vasteras", time=t0,
                                       alarm=f"a-{n}", source={**SRC, "ref": f"c-{n}"},
                                       data={"reason": "resident"})])
    await settle(gateway)
    pruner = Pruner(gateway.store, clock, gateway.settings.retention, gateway.audit)

    counts = gateway.store.count_events("vasteras")
    liveness = sum(counts.get(t, 0) for t in LIVENESS_TYPES)
    assert liveness >= 250
    others = sum(counts.values()) - liveness
    clock._now = t0 + timedelta(days=8)  # past heartbeats' 7 days, within the others'
    plan = await pruner.plan()
    assert plan["heartbeats"].rows == liveness and plan["events"].rows == 0
    assert gateway.store.count_events("vasteras") == counts  # a plan removes nothing
    went = await pruner.run()
    assert went["heartbeats"].rows == liveness
    assert went["heartbeats"].chunks == liveness // 100 + 1  # 100 at a time
    assert {k: r.rows for k, r in went.items() if k != "heartbeats"} == dict.fromkeys(
        ["dead_letters", "frames", "events", "outbox", "sessions", "audit"], 0)
    assert "device.heartbeat" not in gateway.store.count_events("vasteras")

    clock._now = t0 + timedelta(days=61)
    plan = await pruner.plan()
    went = await pruner.run()
    assert {k: went[k].rows for k in KINDS} == {k: plan[k].rows for k in KINDS}
    assert went["dead_letters"].rows == 1 and went["frames"].rows == 2
    alarms = {s.event.alarm for s in gateway.store.query_events("vasteras")}
    assert alarms == {"a-2"}  # the closed alarms' events went, the open one's stayed
    assert went["events"].rows == others - 1  # all but the open alarm's raise
    assert gateway.store.dead_letters("vasteras") == []

    # the prune was audited, and the chain still verifies
    entries = await gateway.audit.verify()
    assert entries.ok, entries.problems
    rows = gateway.store.read_sync(lambda c: c.execute(
        "SELECT detail FROM audit_log WHERE action = 'store.prune' AND tenant = '*'"
        " ORDER BY seq").fetchall())
    assert len(rows) == 2
    assert json.loads(rows[-1][0])["events"]["rows"] == others - 1


async def test_an_alarm_is_stored_between_two_chunks_of_a_prune(
        gateway: Gateway, clock: FakeClock) -> None:
    t0 = clock.now()
    for start in range(0, 3000, 500):
        await gateway.emit([heartbeat(n, t0) for n in range(start, start + 500)])
    clock._now = t0 + timedelta(days=8)
    pruner = Pruner(gateway.store, clock, gateway.settings.retention, gateway.audit)
    prune = asyncio.create_task(pruner.run())  # 30 chunks of 100
    for _ in range(2000):
        counts = gateway.store.count_events("vasteras")
        if counts.get("device.heartbeat", 3000) < 3000:
            break
        await asyncio.sleep(0.001)
    stored = await gateway.store.append([reading(99, clock.now())])
    assert stored.accepted and not prune.done()  # in between, not after the whole prune
    went = await prune
    assert went["heartbeats"].rows == 3000 and went["heartbeats"].chunks == 31


async def test_the_audit_log_goes_only_after_five_years_from_a_signed_anchor(
        gateway: Gateway, clock: FakeClock) -> None:
    t0 = clock.now()
    for i in range(5):
        await gateway.audit.append(tenant="vasteras", actor=STAFF, action="lock.unlock",
                                   decision="allowed", reason=f"visit {i}",
                                   time=t0 + timedelta(days=i))
    pruner = Pruner(gateway.store, clock, gateway.settings.retention.model_copy(
        update={"chunk_rows": 100}), gateway.audit)
    clock._now = t0 + timedelta(days=AUDIT_MIN_DAYS + 2, hours=1)  # entries of days 0..2 go
    assert (await pruner.plan())["audit"].rows == 3
    went = await pruner.run()
    assert went["audit"].rows == 3
    result = await gateway.audit.verify()
    assert result.ok, result.problems
    anchors = gateway.store.read_sync(lambda c: c.execute(
        "SELECT seq FROM audit_anchor").fetchall())
    assert [r[0] for r in anchors] == [3]


async def runs(pruner: Pruner, n: int) -> int:
    """Wait (real time, briefly) until ``pruner`` has finished ``n`` prunes; how many it has."""
    for _ in range(500):
        if pruner.runs >= n:
            break
        await asyncio.sleep(0.01)
    return pruner.runs


async def jump(clock: FakeClock, seconds: float) -> None:
    """Move the clock on at once, waking every sleeper due meanwhile once (the gateway's
    one-second loops would otherwise wake 86,400 times a day)."""
    clock._now += timedelta(seconds=seconds)
    await clock.advance(0)


async def test_serve_prunes_on_its_schedule(tmp_path: Path, clock: FakeClock,
                                            broker: MemoryBroker, settings: Settings) -> None:
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        assert await runs(gw.pruner, 1) == 1  # once at start
        await gw.emit([heartbeat(n, clock.now()) for n in range(3)])
        for day in range(1, 7):
            await jump(clock, DAY)
            assert await runs(gw.pruner, day + 1) == day + 1  # daily
        assert gw.store.count_events("vasteras")["device.heartbeat"] == 3
        await jump(clock, 2 * DAY)  # day 8: the daily prune takes the week-old heartbeats
        assert await runs(gw.pruner, 8) == 8  # one wake-up for the two days
        assert "device.heartbeat" not in gw.store.count_events("vasteras")
    finally:
        await gw.stop()


async def test_no_schedule_when_the_interval_is_zero(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    s = Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                 audit={"checkpoint_interval_s": "30d"}, retention={"prune_interval_s": 0})
    gw = Gateway(s, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        await jump(clock, 3 * DAY)
        assert gw.pruner.runs == 0
    finally:
        await gw.stop()


# --------------------------------------------------------------------------- the command


def test_store_prune_dry_run_then_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        database: str) -> None:
    from gateway.cli.audit import verify_cmd
    from gateway.cli.store_prune import prune_cmd
    from gateway.core.clock import SystemClock

    now = SystemClock().now()
    cfg = tmp_path / "navet.yaml"
    cfg.write_text(f"data_dir: {tmp_path}\n"
                   f"retention: {{heartbeats_days: 2, audit_days: {AUDIT_MIN_DAYS}}}\n")
    settings = load_settings(cfg)

    async def seed() -> None:
        gw = Gateway(settings.model_copy(update={"retention": settings.retention.model_copy(
            update={"prune_interval_s": 0})}), clock=FakeClock(now - timedelta(days=5)),
            mqtt=MemoryBroker().client("navet"))
        await gw.start()
        try:
            await gw.emit([heartbeat(n, gw.clock.now()) for n in range(4)])
            for years in (6, 0):  # one entry past the five years, one of today
                await gw.audit.append(tenant="vasteras", actor=STAFF, action="lock.unlock",
                                      decision="allowed", reason="visit",
                                      time=now - timedelta(days=365 * years))
        finally:
            await gw.stop()

    asyncio.run(seed())
    assert prune_cmd(argparse.Namespace(config=str(cfg), dry_run=True, json=True)) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["dry_run"] and planned["kinds"]["heartbeats"]["rows"] == 4
    assert planned["kinds"]["events"] == {"days": 0, "cutoff": None, "rows": 0}
    assert prune_cmd(argparse.Namespace(config=str(cfg), dry_run=True, json=False)) == 0
    text = capsys.readouterr().out
    assert "heartbeats" in text and "4 would go" in text and "kept for ever" in text
    assert prune_cmd(argparse.Namespace(config=str(cfg), dry_run=False, json=True)) == 0
    went = json.loads(capsys.readouterr().out)["kinds"]
    assert went["heartbeats"]["rows"] == 4 and went["audit"]["rows"] == 1
    assert prune_cmd(argparse.Namespace(config=str(cfg), dry_run=True, json=True)) == 0
    assert json.loads(capsys.readouterr().out)["kinds"]["heartbeats"]["rows"] == 0
    # the prune's own audit entry keeps the chain whole
    assert verify_cmd(argparse.Namespace(config=str(cfg), database=None, json=False,
                                         head=None)) == 0
    # from the signed anchor: the day's entry and the prune's own
    assert capsys.readouterr().out.startswith("audit log intact: 2 entries")
