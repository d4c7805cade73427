"""Delivery through the durable outbox: outages, order per resident, backoff, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker

from .conftest import SECRET, SUB, T0, TENANT, Consumer, Received, Rig, seconds_until


def by_resident(requests: list[Received]) -> dict[str, list[str]]:
    lanes: dict[str, list[str]] = defaultdict(list)
    for r in requests:
        ce = r.event
        lanes[ce.get("navetresident") or ce["subject"]].append(ce["id"])
    return dict(lanes)


async def test_a_consumer_down_for_hours_gets_everything_in_order_per_resident(rig: Rig) -> None:
    consumer = rig.consumer
    consumer.respond = lambda r: (503, {"Retry-After": "1"})
    emitted = []
    for i in range(5):  # three residents and a device without one, interleaved
        emitted.append(await rig.emit("alarm.raised", resident="r-1"))
        emitted.append(await rig.emit("alarm.raised", resident="r-2", device="unit-2"))
        if i % 2 == 0:
            emitted.append(await rig.emit("alarm.raised", resident="r-3", device="unit-3"))
        emitted.append(await rig.emit("device.battery", resident=None, device="hub-9"))
        await rig.pump(30, step=3)  # answering 503 meanwhile
    assert consumer.requests and not consumer.accepted

    await consumer.stop()  # now it refuses connections altogether
    await rig.pump(4 * 3600, step=60)
    failed_attempts = len(consumer.requests)
    await consumer.start()
    consumer.respond = lambda r: (200, {})
    await rig.drain(limit=600)

    assert len(consumer.requests) > failed_attempts  # it was tried, not just waited out
    delivered = consumer.accepted_ids()
    assert sorted(delivered) == sorted(e.id for e in emitted)  # everything, each exactly once
    expected: dict[str, list[str]] = defaultdict(list)
    for e in emitted:
        expected[e.resident or e.device.id].append(e.id)  # type: ignore[union-attr]
    assert by_resident(consumer.accepted) == dict(expected)  # stored order, per resident
    assert rig.depth() == 0 and not rig.rows()


async def test_a_retrying_resident_does_not_hold_up_the_others(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (503, {}) if r.event.get("navetresident") == "r-1" \
        else (200, {})
    stuck = [await rig.emit(resident="r-1"), await rig.emit(resident="r-1")]
    others = [await rig.emit(resident="r-2"), await rig.emit(resident="r-3")]
    await rig.pump(60, step=5)
    assert rig.consumer.accepted_ids() == [e.id for e in others]
    r1_tried = {r.event["id"] for r in rig.consumer.requests if r.event["navetresident"] == "r-1"}
    assert r1_tried == {stuck[0].id}  # the second waits behind the first: order holds


async def test_backoff_grows_exponentially_with_jitter(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (503, {})
    for resident in ("r-1", "r-2", "r-3"):
        await rig.emit(resident=resident)
    delays: dict[int, list[float]] = defaultdict(list)  # attempts so far -> delays chosen
    for attempts in range(1, 10):
        await rig.deliver_now()
        now = rig.clock.now()
        rows = rig.rows()
        assert all(r["attempts"] == attempts for r in rows)
        for row in rows:
            delays[attempts].append(seconds_until(row, now))
        await rig.clock.advance(max(delays[attempts]))

    for attempts, chosen in delays.items():
        nominal = min(300.0, 1.0 * 2 ** (attempts - 1))
        assert all(0.5 * nominal <= d <= nominal for d in chosen), (attempts, chosen)
        assert len(set(chosen)) == len(chosen), f"no jitter between residents: {chosen}"
    lows = [min(delays[a]) for a in sorted(delays)]
    assert all(b >= a for a, b in itertools.pairwise(lows)) and lows[-1] > 50 * lows[0]


@pytest.mark.parametrize("webhook_settings", [{"backoff_base_s": 2, "backoff_max_s": 10}],
                         indirect=True)
async def test_backoff_is_capped_per_subscription(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (500, {})
    await rig.emit()
    chosen = []
    for _ in range(8):
        await rig.deliver_now()
        (row,) = rig.rows()
        chosen.append(seconds_until(row, rig.clock.now()))
        await rig.clock.advance(chosen[-1])
    assert 1.0 <= chosen[0] <= 2.0
    assert all(5.0 <= d <= 10.0 for d in chosen[3:]), chosen


@pytest.mark.parametrize("retry_after", ["120", "date"])
async def test_retry_after_is_honoured(rig: Rig, retry_after: str) -> None:
    value = retry_after if retry_after != "date" else format_datetime(
        rig.clock.now() + timedelta(seconds=120), usegmt=True)
    rig.consumer.respond = lambda r: (429, {"Retry-After": value})
    await rig.emit()
    await rig.deliver_now()
    (row,) = rig.rows()
    assert row["attempts"] == 1 and seconds_until(row, rig.clock.now()) == pytest.approx(120)
    await rig.pump(119, step=1)
    assert len(rig.consumer.requests) == 1  # not a request sooner than asked
    rig.consumer.respond = lambda r: (200, {})
    await rig.pump(2, step=1)
    assert len(rig.consumer.accepted) == 1


@pytest.mark.parametrize("webhook_settings", [{"horizon": "PT1H"}], indirect=True)
async def test_dead_letter_after_the_horizon_and_the_lane_goes_on(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (503, {})
    first = await rig.emit(resident="r-1")
    await rig.pump(59 * 60, step=30)
    assert [r["state"] for r in rig.rows()] == ["pending"]  # within the horizon: still retried
    await rig.pump(10 * 60, step=30)
    (row,) = rig.rows()
    assert row["state"] == "dead" and "503" in row["last_error"]
    tries = len(rig.consumer.requests)
    await rig.pump(3600, step=60)
    assert len(rig.consumer.requests) == tries  # a dead letter is not retried

    rig.consumer.respond = lambda r: (200, {})
    later = await rig.emit(resident="r-1")
    await rig.drain()
    assert rig.consumer.accepted_ids() == [later.id]  # the dead one does not block its lane
    state = (await rig.api.get("/api/v1/subscriptions/larmcentral",
                               params={"tenant": "vasteras"})).json()
    assert state["delivery"]["dead_letters"] == 1
    assert [d["id"] for d in state["dead"]] == [first.id]


async def test_a_refusal_is_a_dead_letter_at_once_and_not_retried(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (422, {}) if r.event["navetresident"] == "r-1" \
        else (200, {})
    refused = await rig.emit(resident="r-1")
    fine = await rig.emit(resident="r-2")
    after = await rig.emit(resident="r-1")
    await rig.pump(600, step=10)
    assert [r.event["id"] for r in rig.consumer.requests].count(refused.id) == 1
    assert sorted(rig.consumer.accepted_ids()) == sorted([fine.id])
    assert [r.event["id"] for r in rig.consumer.requests].count(after.id) == 1
    rows = rig.rows()  # both of r-1's events refused, each tried once; r-2's went through
    assert [(r["state"], r["attempts"]) for r in rows] == [("dead", 1), ("dead", 1)]
    assert "refused" in rows[0]["last_error"] and "422" in rows[0]["last_error"]


@pytest.mark.parametrize("webhook_settings", [{"concurrency": 3}], indirect=True)
async def test_several_residents_in_flight_at_once_but_each_resident_in_order(rig: Rig) -> None:
    async def until_three_wait(consumer: Consumer) -> None:
        with contextlib.suppress(TimeoutError):  # bounded: a sequential sink just fails below
            async with asyncio.timeout(2):
                while consumer.max_in_flight < 3:  # hold the first ones until 3 are in
                    await asyncio.sleep(0.005)

    rig.consumer.gate = until_three_wait
    emitted = [await rig.emit(resident=f"r-{n % 5}") for n in range(15)]
    await rig.drain()
    assert rig.consumer.max_in_flight == 3  # as many as configured, never more
    assert sorted(rig.consumer.accepted_ids()) == sorted(e.id for e in emitted)
    expected: dict[str, list[str]] = defaultdict(list)
    for e in emitted:
        expected[str(e.resident)].append(e.id)
    assert by_resident(rig.consumer.accepted) == dict(expected)


@pytest.mark.parametrize("sub_types", [["alarm."]], indirect=True)
@pytest.mark.parametrize("webhook_settings", [{"residents": ["r-1", "r-3"]}], indirect=True)
async def test_only_the_selected_types_and_residents_are_sent(rig: Rig) -> None:
    wanted = [await rig.emit(resident="r-1"), await rig.emit(resident="r-3")]
    await rig.emit(resident="r-2")
    await rig.emit("device.battery", resident="r-1")
    await rig.emit(resident=None)
    await rig.drain()
    assert rig.consumer.accepted_ids() == [e.id for e in wanted]
    assert len(rig.consumer.requests) == 2


async def test_the_running_gateway_delivers_on_its_own(tmp_path: Path, consumer: Consumer) -> None:
    """No hand-driven outbox: the gateway's own worker finds the events and posts them."""
    clock = FakeClock(T0)
    gw = Gateway(Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                          outbound={"allow_loopback": True}, subscriptions=[
        {"id": SUB, "tenant": TENANT, "sink": "webhook", "types": ["alarm."],
         "settings": {"url": consumer.url, "secret": SECRET}}]),
        clock=clock, mqtt=MemoryBroker().client("navet"), rules=[])
    await gw.start()
    try:
        rig = Rig(gw, clock, consumer, api=None)  # type: ignore[arg-type]  # no API needed
        events = [await rig.emit(resident="r-1"), await rig.emit(resident="r-1")]
        async with asyncio.timeout(20):  # a bound against hanging, not a speed claim
            while len(consumer.accepted) < len(events):
                await asyncio.sleep(0.02)
        assert consumer.accepted_ids() == [e.id for e in events]
    finally:
        await gw.stop()
