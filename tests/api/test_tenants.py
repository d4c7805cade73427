"""Tenant isolation: what tenant A can read never includes tenant B's data."""

from __future__ import annotations

import httpx
import pytest

from gateway.core.gateway import Gateway

from .conftest import frame

TENANT_SCOPED = [
    "/api/v1/events", "/api/v1/devices", "/api/v1/residents", "/api/v1/dead-letters",
    "/api/v1/summary", "/api/v1/stream",
]


@pytest.fixture
async def two_tenants(gw: Gateway, app: object) -> None:
    await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
    await gw.ingest(frame("orebro", "hall", {"contact": True}))
    await gw.ingest(frame("orebro", "hall", b"orebro garbage"))


async def test_events_of_another_tenant_never_appear(
    client: httpx.AsyncClient, two_tenants: None
) -> None:
    a = (await client.get("/api/v1/events", params={"tenant": "vasteras"})).json()["items"]
    b = (await client.get("/api/v1/events", params={"tenant": "orebro"})).json()["items"]
    assert a and b
    assert {e["tenant"] for e in a} == {"vasteras"}
    assert {e["tenant"] for e in b} == {"orebro"}
    # Filters cannot reach across either: B's device, asked for as A.
    leak = await client.get("/api/v1/events",
                            params={"tenant": "vasteras", "device": "zigbee2mqtt:hall"})
    assert leak.json()["items"] == []
    one = await client.get(f"/api/v1/events/{b[0]['id']}", params={"tenant": "vasteras"})
    assert one.status_code == 404


async def test_devices_dead_letters_summary_are_per_tenant(
    client: httpx.AsyncClient, two_tenants: None
) -> None:
    devs = (await client.get("/api/v1/devices", params={"tenant": "vasteras"})).json()
    assert "zigbee2mqtt:hall" not in {d["id"] for d in devs}
    orebro_devs = (await client.get("/api/v1/devices", params={"tenant": "orebro"})).json()
    assert [d["id"] for d in orebro_devs] == ["zigbee2mqtt:hall"]
    assert (await client.get("/api/v1/dead-letters", params={"tenant": "vasteras"})).json() == []
    assert len((await client.get("/api/v1/dead-letters", params={"tenant": "orebro"})).json()) == 1
    summary = (await client.get("/api/v1/summary", params={"tenant": "vasteras"})).json()
    assert summary["counts"] == {"device.heartbeat": 1, "sensor.reported": 1}


@pytest.mark.parametrize("path", TENANT_SCOPED)
async def test_unknown_tenant_is_404(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path, params={"tenant": "uppsala"})
    assert r.status_code == 404
    assert "uppsala" in r.json()["detail"]


@pytest.mark.parametrize("path", TENANT_SCOPED)
async def test_tenant_is_required(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 422
    assert "tenant" in r.text


async def test_tenant_list_for_the_picker(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/tenants")
    assert r.json() == [{"id": "orebro", "name": "Örebro kommun"},
                        {"id": "vasteras", "name": "Västerås stad"}]
