"""The WebSocket live stream over a real connection: delivery, filters, tenants, refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from gateway.core.gateway import Gateway

from .conftest import frame, later

WAIT_S = 10.0


class WsReader:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_S):
            message: dict[str, Any] = json.loads(await self.ws.recv())
        return message

    async def take(self, n: int) -> list[dict[str, Any]]:
        return [await self.next() for _ in range(n)]


@asynccontextmanager
async def open_ws(base: str, **params: Any) -> AsyncIterator[WsReader]:
    url = base.replace("http://", "ws://") + "/api/v1/stream/ws?" + urlencode(params, doseq=True)
    async with connect(url, open_timeout=WAIT_S) as ws:
        yield WsReader(ws)


def fanned_out(gw: Gateway, tenant: str, after: int, resident: str | None = None) -> list[int]:
    return [s.seq for s in gw.store.query_events(tenant, after_seq=after, resident=resident,
                                                 limit=1000)
            if s.event.type != "device.heartbeat"]


async def test_events_arrive_as_cloudevents_with_the_store_seq(server: str, gw: Gateway) -> None:
    async with open_ws(server, tenant="vasteras") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 90}))
        got = await stream.take(2)
    assert [m["type"] for m in got] == ["sensor.reported", "device.battery"]
    assert [int(m["id"]) for m in got] == fanned_out(gw, "vasteras", 0)
    ce = got[0]["data"]
    assert (ce["specversion"], ce["type"], ce["navettenant"], ce["navetresident"]) == (
        "1.0", "sensor.reported", "vasteras", "r-1")
    assert ce["data"]["data"]["readings"]["occupancy"] is True


async def test_resident_and_type_filters(server: str, gw: Gateway) -> None:
    async with open_ws(server, tenant="vasteras", resident="r-2", type="sensor.") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 80}, later(1)))
        await gw.ingest(frame("vasteras", "door", {"contact": True, "battery": 80}, later(2)))
        got = await stream.next()
    assert got["type"] == "sensor.reported" and got["data"]["navetresident"] == "r-2"
    assert int(got["id"]) == fanned_out(gw, "vasteras", 0, resident="r-2")[0]


async def test_heartbeats_only_on_request(server: str, gw: Gateway) -> None:
    async with open_ws(server, tenant="vasteras", type=["device."]) as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 70}))
        got = await stream.take(2)
    assert [m["type"] for m in got] == ["device.battery", "device.heartbeat"]


async def test_other_tenants_events_never_reach_the_socket(server: str, gw: Gateway) -> None:
    async with open_ws(server, tenant="orebro") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True}, later(1)))
        await gw.ingest(frame("orebro", "hall", {"contact": True}, later(2)))
        got = await stream.next()
    assert got["data"]["navettenant"] == "orebro"
    assert got["data"]["subject"] == "zigbee2mqtt:hall"


@pytest.mark.parametrize(("params", "named"), [
    ({"tenant": "atlantis"}, "atlantis"),
    ({"tenant": "vasteras", "type": "alarm.rasied"}, "alarm.rasied"),
    ({"tenant": "vasteras", "last_event_id": "yesterday"}, "yesterday"),
])
async def test_refusals_close_with_1008_and_a_reason(server: str, params: dict[str, str],
                                                     named: str) -> None:
    async with open_ws(server, **params) as stream:
        with pytest.raises(ConnectionClosed) as closed:
            await stream.next()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008 and named in closed.value.rcvd.reason


async def test_client_count_drops_when_the_socket_closes(server: str, gw: Gateway) -> None:
    async with open_ws(server, tenant="vasteras") as stream:
        await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
        await stream.next()
        assert gw.metrics.registry.get_sample_value("navet_stream_clients") == 1
    async with asyncio.timeout(WAIT_S):
        while gw.metrics.registry.get_sample_value("navet_stream_clients") != 0:
            await asyncio.sleep(0.02)
