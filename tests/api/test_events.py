"""Querying stored events: filters, cursor paging, single events."""

from __future__ import annotations

import httpx
import pytest

from gateway.core.gateway import Gateway

from .conftest import frame, later


@pytest.fixture
async def stored(gw: Gateway, app: object) -> None:
    """bed (r-1) at 0 s and 60 s, door (r-2) at 120 s; each gives sensor + heartbeat (+battery)."""
    await gw.ingest(frame("vasteras", "bed", {"occupancy": True}, later(0)))
    await gw.ingest(frame("vasteras", "bed", {"occupancy": False, "battery": 80}, later(60)))
    await gw.ingest(frame("vasteras", "door", {"contact": False}, later(120)))


async def _types(client: httpx.AsyncClient, **params: object) -> list[str]:
    r = await client.get("/api/v1/events", params={"tenant": "vasteras", **params})
    assert r.status_code == 200, r.text
    return [e["type"] for e in r.json()["items"]]


async def test_items_are_envelopes_with_seq_in_store_order(
    client: httpx.AsyncClient, stored: None
) -> None:
    r = await client.get("/api/v1/events", params={"tenant": "vasteras"})
    items = r.json()["items"]
    assert len(items) == 7
    seqs = [e["seq"] for e in items]
    assert seqs == sorted(seqs)
    first = items[0]
    assert first["tenant"] == "vasteras"
    assert first["resident"] == "r-1"  # from the care configuration, not the device
    assert first["device"]["id"] == "zigbee2mqtt:bed"
    assert first["time"] == "2026-01-01T00:00:00Z"


async def test_type_prefix_and_exact_type(client: httpx.AsyncClient, stored: None) -> None:
    assert await _types(client, type="sensor.reported") == ["sensor.reported"] * 3
    assert sorted(set(await _types(client, type="device."))) == [
        "device.battery", "device.heartbeat"]
    both = await _types(client, type=["device.battery", "sensor.reported"])
    assert sorted(both) == ["device.battery"] + ["sensor.reported"] * 3
    assert "device.heartbeat" not in await _types(client, exclude="device.heartbeat")


async def test_unknown_type_is_refused_with_the_reason(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/events", params={"tenant": "vasteras", "type": "alarm.rasied"})
    assert r.status_code == 422
    assert "alarm.rasied" in r.json()["detail"]


async def test_alarm_prefix_is_accepted(client: httpx.AsyncClient, stored: None) -> None:
    assert await _types(client, type="alarm.") == []


async def test_resident_and_device_filters(client: httpx.AsyncClient, stored: None) -> None:
    r1 = await client.get("/api/v1/events", params={"tenant": "vasteras", "resident": "r-1"})
    assert {e["device"]["id"] for e in r1.json()["items"]} == {"zigbee2mqtt:bed"}
    door = await client.get("/api/v1/events",
                            params={"tenant": "vasteras", "device": "zigbee2mqtt:door"})
    assert {e["resident"] for e in door.json()["items"]} == {"r-2"}
    assert len(door.json()["items"]) == 2


async def test_time_range_is_since_inclusive_until_exclusive(
    client: httpx.AsyncClient, stored: None
) -> None:
    r = await client.get("/api/v1/events", params={
        "tenant": "vasteras", "type": "sensor.reported",
        "since": "2026-01-01T00:01:00Z", "until": "2026-01-01T01:02:00+01:00"})  # = 00:02Z
    times = [e["time"] for e in r.json()["items"]]
    assert times == ["2026-01-01T00:01:00Z"]


async def test_naive_time_is_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/events",
                         params={"tenant": "vasteras", "since": "2026-01-01T00:01:00"})
    assert r.status_code == 422
    assert "since" in r.text


async def test_cursor_pages_through_everything_once(
    client: httpx.AsyncClient, stored: None
) -> None:
    seen: list[int] = []
    after = None
    for _ in range(10):
        params: dict[str, object] = {"tenant": "vasteras", "limit": 3}
        if after is not None:
            params["after"] = after
        page = (await client.get("/api/v1/events", params=params)).json()
        seen += [e["seq"] for e in page["items"]]
        after = page["next"]
        if after is None:
            break
    everything = (await client.get("/api/v1/events", params={"tenant": "vasteras"})).json()
    assert seen == [e["seq"] for e in everything["items"]]


async def test_newest_first(client: httpx.AsyncClient, stored: None) -> None:
    r = await client.get("/api/v1/events",
                         params={"tenant": "vasteras", "order": "desc", "limit": 2})
    items = r.json()["items"]
    assert [e["device"]["id"] for e in items] == ["zigbee2mqtt:door"] * 2
    assert items[0]["seq"] > items[1]["seq"]


async def test_get_one_event_by_id(client: httpx.AsyncClient, stored: None) -> None:
    first = (await client.get("/api/v1/events", params={"tenant": "vasteras"})).json()["items"][0]
    r = await client.get(f"/api/v1/events/{first['id']}", params={"tenant": "vasteras"})
    assert r.status_code == 200
    assert r.json() == first
    missing = await client.get("/api/v1/events/nope", params={"tenant": "vasteras"})
    assert missing.status_code == 404


async def test_summary_counts_by_type(client: httpx.AsyncClient, stored: None) -> None:
    r = await client.get("/api/v1/summary", params={"tenant": "vasteras"})
    assert r.json() == {"tenant": "vasteras", "total": 7, "counts": {
        "device.battery": 1, "device.heartbeat": 3, "sensor.reported": 3}}
