"""Devices, residents and dead letters as an operator reads them."""

from __future__ import annotations

import httpx

from gateway.core.gateway import Gateway

from .conftest import frame, later


async def test_devices_show_resident_last_seen_and_unassigned(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    await gw.ingest(frame("vasteras", "bed", {"occupancy": True}, later(30)))
    await gw.ingest(frame("vasteras", "kitchen_leak", {"water_leak": False}, later(40)))
    devs = {d["id"]: d for d in
            (await client.get("/api/v1/devices", params={"tenant": "vasteras"})).json()}
    bed = devs["zigbee2mqtt:bed"]
    assert bed["resident"] == "r-1"
    assert bed["unassigned"] is False
    assert bed["location"] == "Bedroom"
    assert bed["kind"] == "passive_sensor"
    assert bed["last_seen"].startswith("2026-01-01T00:00:30")
    assert devs["zigbee2mqtt:door"]["last_seen"] is None  # configured, never heard from
    new = devs["zigbee2mqtt:kitchen_leak"]
    assert new["unassigned"] is True and new["resident"] is None


async def test_residents_list_their_devices(client: httpx.AsyncClient) -> None:
    rows = (await client.get("/api/v1/residents", params={"tenant": "vasteras"})).json()
    unset = {"sex": None, "birth_year": None, "housing": None, "grants": []}
    assert rows == [
        {"id": "r-1", "label": "Lgh 1102", "home": None, "devices": ["zigbee2mqtt:bed"],
         **unset},
        {"id": "r-2", "label": "Lgh 1204", "home": None, "devices": ["zigbee2mqtt:door"],
         **unset},
    ]


async def test_residents_show_what_follow_up_needs(client: httpx.AsyncClient) -> None:
    grant = {"technology": "gps_alarm", "granted": "2026-01-10", "ended": None,
             "decision": "SoL 4 kap. 1 §, beslut 2026-0412"}
    doc = {"tenants": [{"id": "vasteras", "name": "Västerås stad", "residents": [
        {"id": "r-2", "sex": "male", "birth_year": 1938, "housing": "special",
         "grants": [grant]}]}]}
    assert (await client.post("/api/v1/config", json=doc)).status_code == 200
    rows = (await client.get("/api/v1/residents", params={"tenant": "vasteras"})).json()
    r2 = next(r for r in rows if r["id"] == "r-2")
    assert (r2["label"], r2["sex"], r2["birth_year"], r2["housing"]) == (
        "Lgh 1204", "male", 1938, "special")  # merged: the label is kept
    assert r2["grants"] == [grant]
    bad = {"tenants": [{"id": "vasteras", "name": "Västerås stad", "residents": [
        {"id": "r-2", "housing": "hotel"}]}]}
    refused = await client.post("/api/v1/config", json=bad)
    assert refused.status_code == 422 and "housing" in refused.text


async def test_dead_letter_shows_reason_payload_and_origin(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    await gw.ingest(frame("vasteras", "bed", b'{"contact": "yes"}'))
    [dl] = (await client.get("/api/v1/dead-letters", params={"tenant": "vasteras"})).json()
    assert "contact must be true or false" in dl["reason"]
    assert dl["payload"] == '{"contact": "yes"}'
    assert dl["adapter"] == "zigbee2mqtt"
    assert dl["address"] == "zigbee2mqtt/bed"
    assert dl["received"].startswith("2026-01-01T00:00:00")


async def test_event_type_catalogue(client: httpx.AsyncClient) -> None:
    types = (await client.get("/api/v1/event-types")).json()
    assert "alarm.raised" in types and "sensor.reported" in types
