"""The live stream over a real HTTP connection: delivery, resume, no gap, no repeat."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.core.gateway import Gateway

from .conftest import frame, later

WAIT_S = 10.0


@dataclass
class Sse:
    id: str
    event: str
    data: dict[str, Any]


class Reader:
    """Parses the text/event-stream wire format: fields, blank line ends an event."""

    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def next(self) -> Sse:
        fields: dict[str, str] = {}
        async with asyncio.timeout(WAIT_S):
            async for line in self._lines:
                if not line:
                    if "data" in fields:
                        return Sse(fields.get("id", ""), fields.get("event", "message"),
                                   json.loads(fields["data"]))
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue  # heartbeat comment
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
        raise AssertionError("stream ended")

    async def take(self, n: int) -> list[Sse]:
        return [await self.next() for _ in range(n)]


@asynccontextmanager
async def open_stream(base: str, **params: Any) -> AsyncIterator[Reader]:
    headers = {}
    if "last_event_id" in params:
        headers["Last-Event-ID"] = str(params.pop("last_event_id"))
    async with (
        httpx.AsyncClient(base_url=base, timeout=WAIT_S) as client,
        client.stream("GET", "/api/v1/stream", params=params, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Reader(response.aiter_lines())


def fanned_out(gw: Gateway, tenant: str, after: int) -> list[int]:
    """Seqs a stream of ``tenant`` must deliver after ``after`` (heartbeats are not)."""
    return [s.seq for s in gw.store.query_events(tenant, after_seq=after, limit=1000)
            if s.event.type != "device.heartbeat"]


async def _clients(gw: Gateway) -> float:
    return gw.metrics.registry.get_sample_value("navet_stream_clients") or 0.0


async def test_new_events_arrive_as_cloudevents(server: str, gw: Gateway) -> None:
    async with open_stream(server, tenant="vasteras") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 90}))
        got = await stream.take(2)
        assert await _clients(gw) == 1
    assert [e.event for e in got] == ["sensor.reported", "device.battery"]
    assert [int(e.id) for e in got] == fanned_out(gw, "vasteras", 0)
    ce = got[0].data
    assert ce["specversion"] == "1.0"
    assert ce["type"] == "sensor.reported"
    assert ce["navettenant"] == "vasteras"
    assert ce["navetresident"] == "r-1"
    assert ce["data"]["data"]["readings"]["occupancy"] is True


async def test_reconnect_with_last_event_id_gets_exactly_the_missed_events(
    server: str, gw: Gateway
) -> None:
    async with open_stream(server, tenant="vasteras", after=0) as stream:
        # Two events (sensor, battery); the client leaves after reading only the first.
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 90}, later(1)))
        first = await stream.next()
    last = int(first.id)

    # While the client is away: its own tenant's events, and another tenant's.
    await gw.ingest(frame("vasteras", "bed", {"occupancy": False, "battery": 50}, later(2)))
    await gw.ingest(frame("orebro", "hall", {"contact": False}, later(3)))
    await gw.ingest(frame("vasteras", "door", {"contact": True}, later(4)))
    missed = fanned_out(gw, "vasteras", last)
    assert len(missed) == 4 and missed[0] == last + 1  # the battery event comes right after

    async with open_stream(server, tenant="vasteras", last_event_id=last) as stream:
        resumed = await stream.take(len(missed))
        assert [int(e.id) for e in resumed] == missed
        assert {e.data["navettenant"] for e in resumed} == {"vasteras"}
        # Then live again, with nothing repeated: the next one is the new event.
        await gw.ingest(frame("vasteras", "door", {"contact": False}, later(5)))
        live = await stream.next()
    assert int(live.id) == fanned_out(gw, "vasteras", missed[-1])[0]
    assert live.data["time"] == "2026-01-01T00:00:05Z"


async def test_type_filter_and_heartbeats_on_request(server: str, gw: Gateway) -> None:
    async with open_stream(server, tenant="vasteras", type="device.") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 70}))
        got = await stream.take(2)
    assert [e.event for e in got] == ["device.battery", "device.heartbeat"]


async def test_other_tenants_events_never_reach_the_stream(server: str, gw: Gateway) -> None:
    async with open_stream(server, tenant="orebro") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True}, later(1)))
        await gw.ingest(frame("orebro", "hall", {"contact": True}, later(2)))
        got = await stream.next()
    assert got.data["navettenant"] == "orebro"
    assert got.data["subject"] == "zigbee2mqtt:hall"


async def test_client_count_drops_when_the_client_leaves(server: str, gw: Gateway) -> None:
    async with open_stream(server, tenant="vasteras") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
        await stream.next()
        assert await _clients(gw) == 1
    async with asyncio.timeout(WAIT_S):
        while await _clients(gw) != 0:
            await gw.ingest(frame("vasteras", "bed", {"occupancy": True}, later(9)))
            await asyncio.sleep(0.05)
