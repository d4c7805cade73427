"""Resuming a live stream: a client that drops out while events keep arriving and comes
back with its cursor gets exactly what it missed, in order (SSE and WebSocket alike)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from gateway.core.gateway import Gateway

from .conftest import frame, later
from .test_stream import open_stream
from .test_ws_stream import open_ws

ROUNDS = 5
FRAMES = 40  # frames the producer sends for the streamed tenant while the client comes and goes


@asynccontextmanager
async def sse(base: str, cursor: int) -> AsyncIterator[object]:
    async with open_stream(base, tenant="vasteras", last_event_id=cursor) as reader:
        async def read() -> tuple[int, str, str]:
            e = await reader.next()
            return int(e.id), e.data["navettenant"], e.event
        yield read


@asynccontextmanager
async def ws(base: str, cursor: int) -> AsyncIterator[object]:
    async with open_ws(base, tenant="vasteras", after=cursor) as reader:
        async def read() -> tuple[int, str, str]:
            m = await reader.next()
            return int(m["id"]), m["data"]["navettenant"], m["type"]
        yield read


def expected(gw: Gateway) -> list[tuple[int, str, str]]:
    return [(s.seq, s.event.tenant, s.event.type)
            for s in gw.store.query_events("vasteras", after_seq=0, limit=10_000)
            if s.event.type != "device.heartbeat"]


async def produce(gw: Gateway, done: asyncio.Event) -> None:
    """The streamed tenant's events interleaved with another tenant's, never pausing long."""
    for i in range(FRAMES):
        name = "bed" if i % 2 else "door"
        body = {"occupancy": bool(i % 3)} if name == "bed" else {"contact": bool(i % 3)}
        if i % 7 == 0:
            body["battery"] = 100 - i
        await gw.ingest(frame("vasteras", name, body, later(i)))
        await gw.ingest(frame("orebro", "hall", {"contact": bool(i % 2)}, later(i)))
        await asyncio.sleep(0)
    done.set()


@pytest.mark.parametrize("opener", [sse, ws], ids=["sse", "websocket"])
async def test_reconnecting_client_gets_exactly_the_missed_events_in_order(
        server: str, gw: Gateway, opener: object) -> None:
    done = asyncio.Event()
    seen: list[tuple[int, str, str]] = []
    cursor = 0
    producer: asyncio.Task[None] | None = None
    for round_ in range(ROUNDS):
        async with opener(server, cursor) as read:  # type: ignore[operator]
            if producer is None:
                producer = asyncio.create_task(produce(gw, done))
            # Read a few, then drop the connection mid-stream while the producer goes on.
            for _ in range(3 + round_):
                item = await read()
                seen.append(item)
                cursor = item[0]
        await asyncio.sleep(0.01)  # away for a moment: more events are stored meanwhile
    assert producer is not None
    await producer
    want = expected(gw)
    assert len(want) > len(seen)  # the producer outran the client: something was missed
    async with opener(server, cursor) as read:  # type: ignore[operator]
        while len(seen) < len(want):
            seen.append(await read())
    assert seen == want  # every event once, in store order, nothing of the other tenant
    assert len({s for s, _, _ in seen}) == len(seen)
