"""PostgreSQL: raw frames partitioned by month; migration 9 converts a store keeping every row;
a prune drops whole months past their period (gateway/core/store/partitions.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway import FakeClock, RawFrame
from gateway.core.retention import Pruner
from gateway.core.settings import RetentionSettings
from gateway.core.store import Store, make_store, partitions
from gateway.core.store import base as store_base
from tests.postgres import PgServer

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def frame(n: int, at: datetime, payload: bytes | None = None) -> RawFrame:
    return RawFrame("zigbee2mqtt", "vasteras", "mqtt", f"zigbee2mqtt/dev{n}",
                    payload or b'{"n": %d}' % n, at)


def rows(store: Store, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
    conn = store.connect()
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def month_tables(store: Store) -> list[str]:
    conn = store.connect()
    try:
        return [m.name for m in partitions.months(conn)]
    finally:
        conn.close()


@pytest.fixture
def url(pg_server: PgServer) -> str:
    return pg_server.fresh_url()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = make_store(url)
    s.open()
    try:
        yield s
    finally:
        s.close()


async def test_migration_9_partitions_an_existing_store_keeping_every_row(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    times = [NOW - timedelta(days=d) for d in (200, 95, 40, 3, 0)]
    with monkeypatch.context() as m:  # a store as Navet left it at schema 8
        m.setattr(store_base, "MIGRATIONS", store_base.MIGRATIONS[:8])
        old = make_store(url)
        old.open()
        for f in [frame(n, at) for n, at in enumerate(times)]:
            await old.write(lambda c, f=f: store_base._insert_frame(c, f))
        refused = frame(9, times[0], b"not json")
        await old.dead_letter(refused, "payload is not JSON")
        before = rows(old, "SELECT ref, received, payload FROM frames ORDER BY ref")
        old.close()
    assert len(before) == 6

    new = make_store(url)
    new.open()
    try:
        assert new.schema_version == len(store_base.MIGRATIONS)
        conn = new.connect()
        assert partitions.is_partitioned(conn)
        conn.close()
        after = rows(new, "SELECT ref, received, payload FROM frames ORDER BY ref")
        assert after == before  # not a row lost or changed
        names = set(month_tables(new))
        assert {partitions.Month.of(t).name for t in times} <= names  # each month its own
        assert rows(new, f"SELECT count(*) FROM {partitions.DEFAULT}") == [(0,)]
        # the dead letter still shows its frame, and a frame already stored is not again
        assert [d["payload"] for d in new.dead_letters("vasteras")] == ["not json"]
        await new.write(lambda c: store_base._insert_frame(c, frame(0, NOW)))
        assert rows(new, "SELECT count(*) FROM frames WHERE ref = ?",
                    (frame(0, NOW).ref,)) == [(1,)]
    finally:
        new.close()


async def test_prune_drops_whole_months_and_keeps_a_dead_letters_frame(store: Store) -> None:
    clock = FakeClock(NOW)
    conn = store.connect()
    partitions.ensure(conn, NOW - timedelta(days=150))  # months made when those came in
    conn.close()
    old = [frame(n, NOW - timedelta(days=d)) for n, d in enumerate((150, 140, 120, 100))]
    keep = [frame(10 + n, NOW - timedelta(days=d)) for n, d in enumerate((10, 1))]
    for f in [*old, *keep]:
        await store.write(lambda c, f=f: store_base._insert_frame(c, f))
    refused = frame(20, NOW - timedelta(days=100), b"not json")  # a dead letter kept 365 days
    await store.dead_letter(refused, "payload is not JSON")
    # frames of months not made yet (June, a clock far ahead) land in the default partition
    # and are moved out of it when their month is made
    await store.write(lambda c: store_base._insert_frame(c, frame(30, NOW + timedelta(
        days=400))))
    assert rows(store, f"SELECT count(*) FROM {partitions.DEFAULT}") == [(3,)]

    settings = RetentionSettings(frames_days=30, dead_letters_days=365, partitions_ahead=2,
                                 chunk_rows=100)
    pruner = Pruner(store, clock, settings)
    plan = await pruner.plan()
    jan, feb, mar = (partitions.Month(2026, m).name for m in (1, 2, 3))
    assert plan["frames"].rows == 4 and plan["frames"].partitions == [jan, feb]
    went = await pruner.run()
    assert went["frames"].rows == 4 and went["frames"].partitions == [jan, feb]
    names = month_tables(store)
    assert jan not in names and feb not in names  # dropped whole
    assert mar in names  # March holds the dead letter's frame: it stays, the rest of it went
    left = {r[0] for r in rows(store, "SELECT ref FROM frames")}
    assert left == {f.ref for f in [*keep, refused, frame(30, NOW + timedelta(days=400))]}
    assert [d["payload"] for d in store.dead_letters("vasteras")] == ["not json"]
    # the months ahead were made, and the far-future frame left the default partition
    assert {partitions.Month(2026, m).name for m in (6, 7, 8)} <= set(names)
    assert partitions.Month(2027, 7).name in names
    assert rows(store, f"SELECT count(*) FROM {partitions.DEFAULT}") == [(0,)]

    clock._now = NOW + timedelta(days=300)  # the dead letter's period is over too
    went = await pruner.run()
    assert went["dead_letters"].rows == 1 and mar in went["frames"].partitions
