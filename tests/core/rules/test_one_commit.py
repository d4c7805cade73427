"""The rules run inside the store writer's transaction: one commit per event and all it
derives, and rule state that never holds what did not commit.

Each test builds a store of this run's backend (SQLite, or PostgreSQL when
``NAVET_TEST_DATABASE=postgresql``) and a :class:`RulesRunner` over real rules.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway import FakeClock, make_event
from gateway.core.directory import DeviceDirectory
from gateway.core.model import EventAdapter, EventBase, event_id
from gateway.core.notifier import Notifier
from gateway.core.rules import RuleContext, RulesRunner
from gateway.core.rules.alarms import AlarmBook, LifecycleRule
from gateway.core.rules.supervision import TechnicalAlarmsRule
from gateway.core.store import Store, make_store

TENANT = "vasteras"
UNIT = "scaip:unit-1"
T0 = datetime(2026, 1, 14, 20, 0, tzinfo=UTC)


def raised(alarm: str, ref: str) -> EventBase:
    return make_event(
        "alarm.raised", tenant=TENANT, time=T0, alarm=alarm, resident="r-1",
        source={"adapter": "scaip", "protocol": "scaip", "ref": ref},
        device={"id": UNIT, "kind": "social_alarm"}, priority="critical",
        data={"kind": "personal_button", "text": "button"})


def battery(ref: str, *, low: bool) -> EventBase:
    return make_event(
        "device.battery", tenant=TENANT, time=T0, resident="r-1",
        source={"adapter": "scaip", "protocol": "scaip", "ref": ref},
        device={"id": UNIT, "kind": "social_alarm"}, data={"low": low, "level_pct": 9})


class Rig:
    """A store, the alarm rules over it, and what the runner told the event loop."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.clock = FakeClock(T0)
        self.book = AlarmBook()
        self.technical = TechnicalAlarmsRule(self.book)
        self.notifier = Notifier()
        self.after: list[str] = []
        self.runner = self.make_runner()

    def make_runner(self) -> RulesRunner:
        ctx = RuleContext(self.clock, self.store, DeviceDirectory(), emit=self._no_emit)
        return RulesRunner(self.store, [LifecycleRule(self.book), self.technical], ctx,
                           self.notifier, after=lambda ev: self.after.append(ev.id))

    @staticmethod
    async def _no_emit(events: Any) -> None:
        raise AssertionError("the rules store what they derive in their own transaction")

    def events(self, *types: str) -> list[EventBase]:
        return [s.event for s in self.store.query_events(TENANT, types=types, limit=1000)]

    def unruled(self) -> int:
        return len(self.store.unruled())


@pytest.fixture
async def rig(database: str) -> AsyncIterator[Rig]:
    store = make_store(database)
    store.open()
    rig = Rig(store)
    try:
        yield rig
    finally:
        await rig.runner.stop()
        store.close()


async def _one_batch(store: Store, *jobs: Callable[[], Any]) -> list[Any]:
    """Start ``jobs`` (coroutine factories) so that the writer takes them as one batch."""
    entered, gate = threading.Event(), threading.Event()

    def hold(conn: Any) -> None:
        entered.set()
        gate.wait(10)

    held = asyncio.ensure_future(store.write(hold))
    assert await asyncio.to_thread(entered.wait, 10)
    tasks = [asyncio.ensure_future(job()) for job in jobs]
    for _ in range(5):  # each task queues its job before it waits
        await asyncio.sleep(0)
    gate.set()
    await held
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def _fatal(store: Store) -> BaseException:
    """An error the store takes for a fault of the database itself."""
    if store.kind == "sqlite":
        err: BaseException = sqlite3.OperationalError("disk I/O error")
    else:
        import psycopg

        err = psycopg.OperationalError("the server closed the connection")
    assert store.is_fatal(err)
    return err


async def test_an_event_and_what_the_rules_derive_commit_together_once(rig: Rig) -> None:
    await rig.runner.start()
    await rig.store.append([raised("a-1", "1")])
    batches = rig.store.batches
    result = await rig.store.append([raised("a-2", "2")])  # pressed again while a-1 is open

    assert rig.store.batches == batches + 1  # one transaction, one commit
    [fold] = rig.events("alarm.updated")  # there when append returns: no drain, no wait
    assert fold.alarm == "a-1" and fold.data.folded.alarm == "a-2"  # type: ignore[attr-defined]
    assert rig.unruled() == 0  # stored ruled: no second transaction marks them
    assert rig.store.alarm_index.get(TENANT, "a-2") is rig.store.alarm_index.get(TENANT, "a-1")
    # the operator streams and the plugins heard of both before append returned
    assert rig.notifier.seq == max(s.seq for s in rig.store.query_events(TENANT)) > max(
        result.seqs)
    assert rig.after[-2:] == [raised("a-2", "2").id, fold.id]
    assert rig.runner.processed == 3


@pytest.mark.parametrize("savepoints", [True, False], ids=["savepoint-each-job", "optimistic"])
async def test_a_job_failing_beside_a_ruled_one_leaves_rule_state_as_committed(
        rig: Rig, savepoints: bool) -> None:
    """One job of a batch fails. With a savepoint per job (SQLite's way) it is rolled back
    alone and the rules keep their state; run optimistically (PostgreSQL's way) the whole
    batch is rolled back and run again, and the rules reload before they see the low
    battery again, so its alarm is raised (not taken for one already raised)."""
    rig.store.savepoint_each_job = savepoints
    await rig.runner.start()

    def refuse(conn: Any) -> None:
        raise ValueError("a command refused inside its job")

    appended, refused = await _one_batch(
        rig.store, lambda: rig.store.append([battery("1", low=True)]),
        lambda: rig.store.write(refuse))

    assert isinstance(refused, ValueError)
    assert appended.accepted == (battery("1", low=True).id,)
    [alarm] = rig.events("alarm.raised")
    assert str(alarm.data.kind) == "technical.low_battery"  # type: ignore[attr-defined]
    assert rig.book.get(TENANT, str(alarm.alarm)) is not None
    assert rig.store.alarm_index.get(TENANT, str(alarm.alarm)) is not None
    assert rig.runner.resets == (0 if savepoints else 1)  # reloaded only when rolled back

    await rig.store.append([battery("2", low=True)])  # the same episode: nothing new
    await rig.store.append([battery("3", low=False)])  # fixed: the alarm closes, once
    assert len(rig.events("alarm.raised")) == 1
    [closed] = rig.events("alarm.closed")
    assert closed.alarm == alarm.alarm and rig.book.get(TENANT, str(alarm.alarm)) is None


async def test_a_batch_the_database_fails_is_ruled_again_from_the_committed_store(
        rig: Rig) -> None:
    """The rules ruled the low battery, then the database failed the batch: nothing of it
    committed, the device is not acknowledged and sends again, and the rules, reloaded,
    raise the alarm then."""
    await rig.runner.start()
    fatal = _fatal(rig.store)

    def fail(conn: Any) -> None:
        raise fatal

    low = battery("1", low=True)
    appended, failed = await _one_batch(
        rig.store, lambda: rig.store.append([low]), lambda: rig.store.write(fail))
    assert type(appended).__name__ == "StoreUnavailableError" and type(failed) is type(appended)
    assert rig.events() == [] and not rig.store.healthy

    await rig.store.append([low])  # the device's retry
    assert [str(e.data.kind) for e in rig.events("alarm.raised")] == [  # type: ignore[attr-defined]
        "technical.low_battery"]
    assert rig.runner.resets == 1 and rig.store.healthy


async def test_what_was_stored_while_no_rules_ran_is_ruled_at_start_in_order(rig: Rig) -> None:
    """Events stored without the rules (``ruled = 0``: a tool, a Navet that ruled in a
    second transaction) are in the alarm projection already; at start the rules rule them
    oldest first, and meet a repeat press as new, so it is folded as it would have been."""
    await rig.store.append([raised("a-1", "1")])
    await rig.store.append([raised("a-2", "2")])
    assert rig.unruled() == 2 and len(rig.store.alarm_index.open(TENANT)) == 2

    await rig.runner.start()

    assert rig.unruled() == 0
    [fold] = rig.events("alarm.updated")
    assert fold.alarm == "a-1" and fold.data.folded.alarm == "a-2"  # type: ignore[attr-defined]
    assert [r.id for r in rig.book.open_records()] == ["a-1"]
    assert rig.book.get(TENANT, "a-2") is rig.book.get(TENANT, "a-1")
    assert [r.id for r in rig.store.alarm_index.open(TENANT)] == ["a-1"]
    assert rig.after == [raised("a-1", "1").id, raised("a-2", "2").id, fold.id]

    await rig.runner.stop()  # and a restart derives nothing more
    count = len(rig.events())
    rig.book.reset()
    rig.runner = rig.make_runner()
    await rig.runner.start()
    await rig.runner.drain()
    assert len(rig.events()) == count


async def test_rules_deriving_without_end_are_stopped_and_the_event_is_stored(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    class Echo:
        name = "echo"

        def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
            return [make_event("alarm.updated", tenant=TENANT, time=T0, alarm="a-1",
                               source={"adapter": "navet", "protocol": "navet", "ref": "x"},
                               data={"text": "again"}, id=event_id("echo", event.id))]

    rig.store.rules_depth = 3
    rig.runner.rules.append(Echo())
    await rig.runner.start()
    with caplog.at_level(logging.ERROR, "gateway.core.store.base"):
        result = await rig.store.append([raised("a-1", "1")])
    assert result.accepted == (raised("a-1", "1").id,)
    assert len(rig.events("alarm.updated")) == 4  # three rounds ruled, the fourth stored
    assert "still deriving after 3 rounds" in caplog.text


async def test_a_rule_that_cannot_load_its_state_does_not_keep_events_out(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        name = "broken"

        def load(self, ctx: RuleContext) -> None:
            EventAdapter.validate_json('{"type": "a body the rule cannot read"}')

        def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
            return []

    rig.runner.rules.insert(0, Broken())
    with caplog.at_level(logging.ERROR, "gateway.core.rules.engine"):
        await rig.runner.start()
        await rig.store.append([battery("1", low=True)])
    assert [str(e.data.kind) for e in rig.events("alarm.raised")] == [  # type: ignore[attr-defined]
        "technical.low_battery"]  # the other rules ran, in the same transaction
    assert caplog.text.count("rule broken could not load its state") == 1
