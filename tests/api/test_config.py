"""POST /api/v1/config: the care configuration document through the API."""

from __future__ import annotations

import httpx

from gateway.core.gateway import Gateway

from .conftest import frame

NEW_TENANT = {
    "tenants": [{
        "id": "sala",
        "name": "Sala kommun",
        "residents": [{"id": "r-9", "label": "Lgh 3"}],
        "devices": [{"adapter": "zigbee2mqtt", "address": "sala_bed",
                     "kind": "passive_sensor", "resident": "r-9"}],
    }]
}


async def test_valid_config_is_applied_and_readable(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    r = await client.post("/api/v1/config", json=NEW_TENANT)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == {"tenants": 1, "residents": 1, "devices": 1, "plans": 0}
    tenants = [t["id"] for t in (await client.get("/api/v1/tenants")).json()]
    assert "sala" in tenants
    residents = (await client.get("/api/v1/residents", params={"tenant": "sala"})).json()
    assert residents[0]["devices"] == ["zigbee2mqtt:sala_bed"]
    # The running pipeline uses it at once: the device's events carry the resident.
    await gw.ingest(frame("sala", "sala_bed", {"occupancy": True}))
    items = (await client.get("/api/v1/events", params={"tenant": "sala"})).json()["items"]
    assert {e["resident"] for e in items} == {"r-9"}


async def test_invalid_field_is_422_naming_the_field(client: httpx.AsyncClient) -> None:
    bad = {"tenants": [{**NEW_TENANT["tenants"][0], "devices": [
        {"adapter": "zigbee2mqtt", "address": "x", "kind": "toaster"}]}]}
    r = await client.post("/api/v1/config", json=bad)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"][-1] == "kind"
    assert error["loc"][-3:-1] == ["devices", 0]
    assert "toaster" in str(error["input"])


async def test_unknown_field_is_refused(client: httpx.AsyncClient) -> None:
    bad = {"tenants": [{"id": "sala", "name": "Sala", "resident": []}]}
    r = await client.post("/api/v1/config", json=bad)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "resident"


async def test_inconsistent_config_is_422_with_a_sentence(client: httpx.AsyncClient) -> None:
    bad = {"tenants": [{"id": "sala", "name": "Sala", "devices": [
        {"adapter": "zigbee2mqtt", "address": "x", "kind": "passive_sensor",
         "resident": "r-404"}]}]}
    r = await client.post("/api/v1/config", json=bad)
    assert r.status_code == 422
    assert "r-404" in r.json()["detail"]
