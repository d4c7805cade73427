"""The priority lane (issue 15): an alarm never waits behind bulk frames for the store.

The store's writer is held on a job of the test's own while frames queue up behind
it, so what the lane does is seen in the order things commit (seq), never in a time.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway import RawFrame, make_event
from gateway.core.gateway import Gateway
from gateway.core.model import EventBase
from gateway.core.pipeline import is_urgent
from gateway.core.store import Store, make_store
from gateway.core.store.lanes import WriteLanes

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- the lanes


def test_an_urgent_job_goes_alone_ahead_of_waiting_bulk() -> None:
    lanes: WriteLanes[str] = WriteLanes()
    for job in ("b1", "b2", "b3"):
        lanes.put(job)
    lanes.put("u1", urgent=True)
    assert lanes.take(10) == (["u1"], False)
    assert lanes.take(10) == (["b1", "b2", "b3"], False)
    assert lanes.urgent_batches == 1
    assert lanes.empty()


def test_bulk_is_not_starved_by_a_stream_of_urgent_jobs() -> None:
    """After an urgent-only batch, the next one takes the waiting bulk too (urgent first)."""
    lanes: WriteLanes[str] = WriteLanes()
    lanes.put("b1")
    lanes.put("u1", urgent=True)
    assert lanes.take(10) == (["u1"], False)
    lanes.put("u2", urgent=True)
    lanes.put("b2")
    assert lanes.take(10) == (["u2", "b1", "b2"], False)
    lanes.put("u3", urgent=True)
    lanes.put("b3")
    assert lanes.take(10) == (["u3"], False)


def test_batches_are_bounded_and_each_lane_keeps_arrival_order() -> None:
    lanes: WriteLanes[str] = WriteLanes()
    for n in range(5):
        lanes.put(f"b{n}")
    assert lanes.take(2) == (["b0", "b1"], False)
    for n in range(3):
        lanes.put(f"u{n}", urgent=True)
    assert lanes.take(2) == (["u0", "u1"], False)
    assert lanes.take(2) == (["u2", "b2"], False)
    assert lanes.take(2) == (["b3", "b4"], False)


def test_stop_comes_after_everything_queued_before_it() -> None:
    lanes: WriteLanes[str] = WriteLanes()
    lanes.put("b1")
    lanes.put(None)  # Store.close
    lanes.put("u1", urgent=True)
    assert lanes.take(10) == (["u1"], False)
    assert lanes.take(10) == (["b1"], True)


def test_take_waits_for_work_and_gives_up_after_its_timeout() -> None:
    lanes: WriteLanes[str] = WriteLanes()
    with pytest.raises(queue.Empty):
        lanes.take(10, timeout=0.01)
    threading.Timer(0.01, lanes.put, ("late",)).start()
    assert lanes.take(10, timeout=10) == (["late"], False)


# --------------------------------------------------------------------------- the store


async def _hold_writer(store: Store) -> tuple[threading.Event, asyncio.Future[Any]]:
    """Park the writer on a job that waits for the returned event."""
    gate, running = threading.Event(), threading.Event()

    def hold(conn: Any) -> bool:
        running.set()
        return gate.wait(30)

    blocker = asyncio.ensure_future(store.write(hold))
    # the writer runs the job and waits for the gate (not: "the queue is empty", which is
    # also true before write() has queued the job at all)
    while not running.is_set():
        await asyncio.sleep(0.001)
    return gate, blocker


async def _queued(store: Store, jobs: int, tasks: list[Awaitable[Any]]) -> None:
    while store._jobs.qsize() < jobs:
        assert not any(t.done() for t in tasks if isinstance(t, asyncio.Future)), tasks
        await asyncio.sleep(0.001)


def _heartbeat(n: int) -> EventBase:
    return make_event("device.heartbeat", tenant="vasteras", time=T0 + timedelta(seconds=n),
                      source={"adapter": "zigbee2mqtt", "protocol": "zigbee2mqtt",
                              "ref": f"hb-{n}"},
                      device={"id": f"zigbee2mqtt:room{n}_bed", "kind": "passive_sensor"},
                      data={})


def _alarm(n: int) -> EventBase:
    return make_event("alarm.raised", tenant="vasteras", time=T0 + timedelta(seconds=n),
                      source={"adapter": "scaip", "protocol": "scaip", "ref": f"m-{n}"},
                      device={"id": "scaip:unit1", "kind": "social_alarm"},
                      alarm=f"a-{n}", priority="critical", data={"kind": "personal_button"})


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    s = make_store(database)
    s.open()
    try:
        yield s
    finally:
        s.close()


async def test_an_alarm_appended_behind_bulk_commits_before_it_in_a_batch_of_its_own(
        store: Store) -> None:
    gate, blocker = await _hold_writer(store)
    bulk = [asyncio.ensure_future(store.append([_heartbeat(n)])) for n in range(20)]
    await _queued(store, 20, bulk)
    alarm = asyncio.ensure_future(store.append([_alarm(1)]))  # arrives last
    await _queued(store, 21, [*bulk, alarm])
    batches = store.batches
    gate.set()
    await blocker
    bulk_results = await asyncio.gather(*bulk)
    alarm_result = await alarm

    assert alarm_result.seqs[0] < min(r.seqs[0] for r in bulk_results)
    assert store._jobs.urgent_batches == 1
    assert store.batches - batches == 3  # the blocker, the alarm alone, then the bulk


async def test_without_an_alarm_waiting_the_writer_takes_everything_in_one_batch(
        store: Store) -> None:
    gate, blocker = await _hold_writer(store)
    bulk = [asyncio.ensure_future(store.append([_heartbeat(n)])) for n in range(20)]
    await _queued(store, 20, bulk)
    batches = store.batches
    gate.set()
    await blocker
    results = await asyncio.gather(*bulk)
    assert [r.seqs[0] for r in results] == sorted(r.seqs[0] for r in results)  # FIFO
    assert store.batches - batches == 2 and store._jobs.urgent_batches == 0


async def test_a_batch_wakes_the_waiting_loop_once_not_once_per_job(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    wake_ups: list[int] = []
    schedule = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(callback, "__name__", "") == "_settle_all":
            wake_ups.append(len(args[0]))
        return schedule(callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    gate, blocker = await _hold_writer(store)
    bulk = [asyncio.ensure_future(store.append([_heartbeat(n)])) for n in range(20)]
    await _queued(store, 20, bulk)
    gate.set()
    await blocker
    await asyncio.gather(*bulk)
    assert wake_ups == [1, 20]  # the blocker's batch, then the twenty settled at once


# --------------------------------------------------------------------------- the pipeline


def _frame(name: str, body: dict[str, Any]) -> RawFrame:
    return RawFrame("zigbee2mqtt", "vasteras", "mqtt", f"zigbee2mqtt/{name}",
                    json.dumps(body).encode(), T0)


async def test_a_water_leak_frame_is_stored_before_the_bulk_frames_queued_ahead_of_it(
        gateway: Gateway) -> None:
    """The leak is a plain sensor report; the passive rule says it raises an alarm at
    once, so its frame takes the urgent lane (and the alarm the rule derives does too)."""
    rooms = [f"room{n}_bed" for n in range(10)]
    for n, room in enumerate([*rooms, "kitchen_leak"]):  # devices known: no registration
        await gateway.ingest(_frame(room, {"occupancy": True, "last_seen": n}))
    gate, blocker = await _hold_writer(gateway.store)
    bulk = [asyncio.ensure_future(gateway.ingest(_frame(room, {
        "occupancy": False, "battery": 90, "linkquality": 80, "last_seen": 100 + n})))
        for n, room in enumerate(rooms)]
    await _queued(gateway.store, len(bulk), bulk)
    leak = asyncio.ensure_future(gateway.ingest(_frame("kitchen_leak", {
        "water_leak": True, "battery": 80, "last_seen": 200})))
    await _queued(gateway.store, len(bulk) + 1, [*bulk, leak])
    gate.set()
    await blocker
    await asyncio.gather(*bulk, leak)

    stored = gateway.store.query_events("vasteras", after_seq=0, limit=1000)
    seq_of_frame = {}
    for s in stored:
        seq_of_frame.setdefault(s.event.source.frame, []).append(s.seq)
    leak_seqs = seq_of_frame[leak.result().frame]
    bulk_seqs = [q for b in bulk for q in seq_of_frame[b.result().frame]]
    assert max(leak_seqs) < min(bulk_seqs)
    assert gateway.rules is not None
    await gateway.rules.drain()
    raised = gateway.store.query_events("vasteras", types=("alarm.raised",))
    assert [r.event.data.kind for r in raised] == ["passive.water_leak"]  # type: ignore[attr-defined]


async def test_what_makes_a_frame_urgent(gateway: Gateway) -> None:
    urgent = gateway.pipeline.urgent
    decode = gateway.adapter_instances.by_adapter("zigbee2mqtt").decode  # type: ignore[attr-defined]

    def events(name: str, body: dict[str, Any]) -> list[EventBase]:
        return decode(_frame(name, {**body, "last_seen": 1}))

    assert any(urgent(e) for e in events("kitchen_leak", {"water_leak": True}))
    assert any(urgent(e) for e in events("hall_motion", {"fall": True}))
    assert any(urgent(e) for e in events("hall_fall", {"vibration": True}))  # a fall sensor
    assert not any(urgent(e) for e in events("kitchen_leak", {"water_leak": False,
                                                             "battery": 3}))
    assert not any(urgent(e) for e in events("hall_motion", {"vibration": True}))
    assert not any(urgent(e) for e in events("hall_door", {"contact": False}))  # no night rule
    assert not any(urgent(e) for e in events("room1_bed", {"occupancy": False}))
    assert urgent(_alarm(1)) and is_urgent(_alarm(1))
    assert not urgent(_heartbeat(1))
    high = _heartbeat(2).model_copy(update={"priority": "high"})
    assert is_urgent(high)
