"""Several instances on one PostgreSQL schema: registration, leases, commit order, wake-ups.

The stores here are what ``Gateway`` makes with ``mqtt.share_group`` set (``shared`` and
an ``instance`` name); gateway/core/cluster.py is driven one pass at a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway import make_event
from gateway.core.clock import FakeClock
from gateway.core.cluster import Cluster
from gateway.core.model import EventBase
from gateway.core.store import Store, make_store
from gateway.core.store.repos import cluster as sql
from gateway.errors import StoreUnavailableError
from tests.postgres import PgServer

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def event(n: int) -> EventBase:
    at = T0 + timedelta(seconds=n)
    return make_event(
        "alarm.raised", tenant="vasteras", resident=f"r-{n % 3}", time=at,
        source={"adapter": "scaip", "protocol": "scaip", "ref": f"m-{n}"},
        device={"id": f"scaip:unit{n % 3}", "kind": "social_alarm"},
        data={"kind": "fall"}, id=f"ev-{n}").model_copy(update={"received": at})


def instance(url: str, name: str, *, shared: bool = True) -> Store:
    store = make_store(url)
    store.shared = shared  # type: ignore[attr-defined]
    store.instance = name  # type: ignore[attr-defined]
    return store


@pytest.fixture
def url(pg_server: PgServer) -> str:
    return pg_server.fresh_url()


@pytest.fixture
def opened() -> Iterator[list[Store]]:
    stores: list[Store] = []
    yield stores
    for store in stores:
        store.close()


def test_scale_out_instances_share_a_schema_but_not_a_name(url: str,
                                                           opened: list[Store]) -> None:
    for name in ("a", "b"):
        store = instance(url, name)
        store.open()
        opened.append(store)
    with pytest.raises(StoreUnavailableError, match="instance 'a' already runs"):
        instance(url, "a").open()
    with pytest.raises(StoreUnavailableError, match="another Navet process is writing"):
        instance(url, "lone", shared=False).open()  # not set up for scale-out: refused
    opened.pop().close()
    opened.pop().close()
    lone = instance(url, "lone", shared=False)
    lone.open()
    opened.append(lone)
    with pytest.raises(StoreUnavailableError, match="not set up for scale-out"):
        instance(url, "c").open()


async def test_a_dead_instance_is_taken_over_at_once_with_its_leases(
        url: str, opened: list[Store]) -> None:
    a, b = instance(url, "a"), instance(url, "b")
    a.open()
    b.open()
    opened += [b]
    clock = FakeClock(T0)
    taken: list[dict[str, Any]] = []

    async def adopt(row: dict[str, Any]) -> None:
        taken.append(row)
        with pytest.raises(StoreUnavailableError, match="instance 'a' already runs"):
            instance(url, "a").open()  # no restart under the name while it is taken over

    first = Cluster(a, clock, "a", lease_s=10, watch_s=3600)
    second = Cluster(b, clock, "b", adopt=adopt, lease_s=10, watch_s=3600)
    await first.start()
    await first.set_sessions([{"client_id": "navet-gateway.a", "adapter": None}])
    await second.start()
    try:
        assert await first.holds("outbox.centre")
        assert not await second.holds("outbox.centre")  # a delivers the subscription
        assert await second.watch() == []  # a is alive
        a.close()  # the process dies: the server drops its locks
        assert await second.watch() == ["a"]
        assert [r["sessions"] for r in taken] == [[{"client_id": "navet-gateway.a",
                                                     "adapter": None}]]
        assert await second.holds("outbox.centre")  # at once, not after the lease
        assert [r["name"] for r in await b.read(sql.instances)] == ["b"]
        again = instance(url, "a")  # a restart under the old name is welcome now
        again.open()
        opened.append(again)
    finally:
        await second.stop()
        await first.stop()


async def test_an_expired_lease_is_taken_over_and_a_renewed_one_is_not(
        url: str, opened: list[Store]) -> None:
    a, b = instance(url, "a"), instance(url, "b")
    for store in (a, b):
        store.open()
        opened.append(store)
    clock = FakeClock(T0)
    first, second = Cluster(a, clock, "a", lease_s=5), Cluster(b, clock, "b", lease_s=5)
    assert await first.holds("outbox.x")
    await clock.advance(4)
    assert await first.holds("outbox.x")  # renewed
    await clock.advance(4)
    assert not await second.holds("outbox.x")
    await clock.advance(2)  # a hung owner that stopped renewing
    assert await second.holds("outbox.x")
    assert not await first.holds("outbox.x")


async def test_seqs_commit_in_order_across_instances_and_every_commit_is_announced(
        url: str, opened: list[Store]) -> None:
    a, b = instance(url, "a"), instance(url, "b")
    for store in (a, b):
        store.open()
        opened.append(store)
    heard = threading.Event()
    stop = b.listen(heard.set)  # type: ignore[attr-defined]
    try:
        await asyncio.sleep(0.2)
        heard.clear()
        # a's batch draws its seq and then holds its transaction open; b's batch must wait
        # for it, so b's later seq cannot become visible before a's earlier one
        gate = threading.Event()
        drawn = threading.Event()

        def slow(conn: Any) -> None:
            conn.execute("INSERT INTO events (id, tenant, type, time, received, body)"
                         " VALUES ('slow', 'vasteras', 'x', '', '', '{}')")
            drawn.set()
            gate.wait(10)

        held = asyncio.ensure_future(a.write(slow))
        await asyncio.to_thread(drawn.wait, 10)
        later = asyncio.ensure_future(b.append([event(1)]))
        await asyncio.sleep(0.3)
        assert not later.done()  # waits behind a's open batch
        assert b.query_events("vasteras") == []
        gate.set()
        await held
        result = await later
        seqs = [r[0] for r in b.connect().execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs[-1] == result.seqs[0] and len(seqs) == 2  # b's came after a's
        assert await asyncio.to_thread(heard.wait, 5)  # b heard a commit (LISTEN/NOTIFY)
    finally:
        stop()


# --------------------------------------------------------------------------- two gateways


async def test_a_stream_on_one_instance_wakes_for_a_commit_of_another_and_one_delivers(
        url: str, tmp_path: Any) -> None:
    from gateway.core.gateway import Gateway
    from gateway.core.settings import Settings
    from gateway.transports.memory import MemoryBroker

    broker = MemoryBroker()
    gateways: list[Gateway] = []

    def make(name: str) -> Gateway:
        settings = Settings(
            data_dir=tmp_path / name, database=url, instance=name,
            mqtt={"mode": "memory", "share_group": "navet"},
            subscriptions=[{"id": "nb", "tenant": "vasteras", "sink": "mqtt",
                            "types": ["alarm.*"]}])
        gw = Gateway(settings, mqtt=broker.client(f"navet-gateway.{name}"))
        gateways.append(gw)
        return gw

    a, b = make("a"), make("b")
    try:
        await a.start()
        await b.start()
        seen = b.notifier.seq
        result = await a.store.append([event(7)])
        async with asyncio.timeout(10):  # b hears it (LISTEN/NOTIFY), not by polling a
            while b.notifier.seq < result.seqs[0]:
                await b.notifier.wait_past(seen, timeout=1)
        stream = b.store.query_events("vasteras", after_seq=seen)
        assert [s.event.id for s in stream] == ["ev-7"]
        owners = {owner for owner, _ in (await a.store.read(sql.leases)).values()}
        async with asyncio.timeout(10):
            while not owners:
                await asyncio.sleep(0.05)
                owners = {o for o, _ in (await a.store.read(sql.leases)).values()}
        assert len(owners) == 1 and owners <= {"a", "b"}  # one instance delivers "nb"
    finally:
        for gw in reversed(gateways):
            if gw.started:
                await gw.stop()
