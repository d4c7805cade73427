"""The outbox's store side: due rows per lane, replay, delivery state, and the schema upgrade."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from gateway import EventBase, make_event
from gateway.core.store import Store, Subscription, make_store
from gateway.core.store.schema import MIGRATIONS

T0 = datetime.fromisoformat("2026-01-01T12:00:00+00:00")
SUB = Subscription("s", "vasteras", "test", ("alarm.",), {})


def alarm(n: int, resident: str, at: datetime = T0) -> EventBase:
    return make_event(
        "alarm.raised", tenant="vasteras", time=at, resident=resident,
        device={"id": f"scaip:u{resident}", "kind": "social_alarm"},
        source={"adapter": "scaip", "protocol": "scaip", "ref": f"m-{n}"},
        data={"kind": "personal_button"},
    ).model_copy(update={"received": at})


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    s = make_store(database)
    s.open()
    await s.put_subscription(SUB)
    try:
        yield s
    finally:
        s.close()


async def test_lanes_backing_off_do_not_hide_a_due_lane_behind_the_limit(
    store: Store,
) -> None:
    await store.append([alarm(n, f"r-{n}") for n in range(5)])
    for item in store.outbox_due("s", T0)[:4]:  # four residents back off for an hour
        await store.outbox_retry("s", item.seq, "503", T0 + timedelta(hours=1), dead=False)
    due = store.outbox_due("s", T0 + timedelta(seconds=1), limit=2)
    assert [i.event.resident for i in due] == ["r-4"]


async def test_replay_requeues_in_the_lane_revives_dead_and_counts_the_horizon_anew(
    store: Store,
) -> None:
    events = [alarm(n, "r-1", T0 + timedelta(minutes=n)) for n in range(3)]
    await store.append(events)
    first = store.outbox_due("s", T0 + timedelta(hours=1))[0]
    await store.outbox_retry("s", first.seq, "refused", T0, dead=True, at=T0)
    nxt = store.outbox_due("s", T0 + timedelta(hours=1))[0]
    await store.outbox_done("s", [nxt.seq], at=T0 + timedelta(minutes=5), last_event=nxt.event.id)

    now = T0 + timedelta(days=5)
    assert await store.outbox_replay(SUB, T0, now) == 3
    due = store.outbox_due("s", now)
    assert [i.event.id for i in due] == [events[0].id]  # the oldest first: order per lane
    assert due[0].attempts == 0 and due[0].enqueued == now
    status = store.outbox_status("s")
    assert status["depth"] == 3 and status["dead_letters"] == 0
    assert status["delivered"] == 1 and status["last_event"] == events[1].id
    assert status["last_error"] == "refused"


async def test_a_database_from_before_the_upgrade_keeps_its_outbox(database: str) -> None:
    store = make_store(database)
    store.prepare()  # the directory, or the (empty) schema
    conn = store.connect()
    for statement in store.schema_sql(MIGRATIONS[0]).split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (1)")
    ev = alarm(1, "r-1")
    conn.execute(
        "INSERT INTO events (id, tenant, type, resident, device, time, received, body)"
        " VALUES (?,?,?,?,?,?,?,?)",
        (ev.id, "vasteras", ev.type, "r-1", "scaip:ur-1", T0.isoformat(), T0.isoformat(),
         ev.model_dump_json()))
    conn.execute("INSERT INTO outbox (subscription, seq, lane, next_attempt) VALUES"
                 " ('s', 1, 'r-1', ?)", (T0.isoformat(),))
    conn.close()

    store.open()
    try:
        (item,) = store.outbox_due("s", T0)
        assert item.event.id == ev.id and item.enqueued is None
        assert store.outbox_status("s")["depth"] == 1
    finally:
        store.close()
