"""POST /api/v1/config: the care configuration document through the API."""

from __future__ import annotations

import httpx

from gateway.core.care import Tenant, tenant_care
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
    assert r.json() == {"applied": {"tenants": 1, "residents": 1, "devices": 1, "plans": 0},
                        "removed": {}}
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


# --------------------------------------------------------------------------- merge vs replace


def _vasteras(**fields: object) -> dict[str, object]:
    return {"tenants": [{"id": "vasteras", "name": "Västerås stad", **fields}]}


async def _care(gw: Gateway, tenant: str = "vasteras") -> Tenant:
    found = await gw.store.read(lambda conn: tenant_care(gw.store, tenant))
    assert found is not None
    return found


async def test_a_partial_document_merges_and_deletes_nothing_it_does_not_mention(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    first = _vasteras(staff=[{"id": "s-1", "label": "Anna", "teams": ["norr"]}],
                      consents=[{"id": "c-1", "resident": "r-1", "purpose": "camera_supervision",
                                 "valid_from": "2026-01-01T00:00:00+00:00",
                                 "legal_basis": "beslut 1"}])
    assert (await client.post("/api/v1/config", json=first)).status_code == 200
    # one new staff member, nothing else: the rest of the tenant stays as it was
    r = await client.post("/api/v1/config", json=_vasteras(staff=[{"id": "s-2"}]))
    assert r.status_code == 200, r.text
    assert r.json() == {"applied": {"tenants": 1, "residents": 0, "devices": 0, "plans": 0},
                        "removed": {}}
    care = await _care(gw)
    assert [(s.id, s.label, s.teams) for s in care.staff] == [
        ("s-1", "Anna", ["norr"]), ("s-2", "", [])]
    assert [c.id for c in care.consents] == ["c-1"]
    assert [res.id for res in care.residents] == ["r-1", "r-2"]


async def test_an_item_updates_only_the_fields_it_gives(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    r = await client.post("/api/v1/config", json=_vasteras(
        residents=[{"id": "r-1", "home": {"text": "Karlsgatan 2"}}],
        devices=[{"adapter": "zigbee2mqtt", "address": "bed", "kind": "passive_sensor",
                  "heartbeat_s": 600}]))
    assert r.status_code == 200, r.text
    residents = {x["id"]: x for x in (await client.get(
        "/api/v1/residents", params={"tenant": "vasteras"})).json()}
    assert residents["r-1"]["label"] == "Lgh 1102"  # kept
    assert residents["r-1"]["home"]["text"] == "Karlsgatan 2"
    devices = {d["id"]: d for d in (await client.get(
        "/api/v1/devices", params={"tenant": "vasteras"})).json()}
    bed = devices["zigbee2mqtt:bed"]
    assert (bed["resident"], bed["location"], bed["heartbeat_s"]) == ("r-1", "Bedroom", 600)
    # an explicit null clears a field: the device is unassigned
    r = await client.post("/api/v1/config", json=_vasteras(devices=[
        {"adapter": "zigbee2mqtt", "address": "bed", "kind": "passive_sensor",
         "resident": None}]))
    assert r.status_code == 200, r.text
    assert gw.directory.get("zigbee2mqtt:bed").resident is None  # type: ignore[union-attr]


async def test_a_device_can_be_added_for_a_resident_already_stored(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    r = await client.post("/api/v1/config", json=_vasteras(devices=[
        {"adapter": "zigbee2mqtt", "address": "chair", "kind": "passive_sensor",
         "resident": "r-2"}]))
    assert r.status_code == 200, r.text
    entry = gw.directory.get("zigbee2mqtt:chair")
    assert entry is not None and (entry.tenant, entry.resident) == ("vasteras", "r-2")


async def test_replace_makes_a_list_exactly_what_is_given(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    await client.post("/api/v1/config", json=_vasteras(staff=[{"id": "s-1"}, {"id": "s-2"}]))
    r = await client.post("/api/v1/config", json=_vasteras(staff=[{"id": "s-2"}],
                                                           replace=["staff", "relatives"]))
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == {"staff": 1}
    assert [s.id for s in (await _care(gw)).staff] == ["s-2"]
    assert [res.id for res in (await _care(gw)).residents] == ["r-1", "r-2"]  # not named


async def test_replace_of_residents_refuses_to_strand_what_names_them(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    # r-2 still has the door sensor: removing r-2 alone would leave it pointing nowhere
    alone = _vasteras(residents=[{"id": "r-1", "label": "Lgh 1102"}], replace=["residents"])
    r = await client.post("/api/v1/config", json=alone)
    assert r.status_code == 422
    assert "r-2" in r.json()["detail"] and "zigbee2mqtt:door" in r.json()["detail"]
    assert [res.id for res in (await _care(gw)).residents] == ["r-1", "r-2"]
    both = _vasteras(residents=[{"id": "r-1", "label": "Lgh 1102"}],
                     devices=[{"adapter": "zigbee2mqtt", "address": "bed",
                               "kind": "passive_sensor", "resident": "r-1"}],
                     replace=["residents", "devices"])
    r = await client.post("/api/v1/config", json=both)
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == {"residents": 1, "devices": 1}
    assert [res.id for res in (await _care(gw)).residents] == ["r-1"]
    assert gw.directory.get("zigbee2mqtt:door") is None
    # the removed sensor reports again: it is kept, unassigned, not lost
    await gw.ingest(frame("vasteras", "door", {"contact": True}))
    devices = {d["id"]: d for d in (await client.get(
        "/api/v1/devices", params={"tenant": "vasteras"})).json()}
    assert devices["zigbee2mqtt:door"]["unassigned"] is True


async def test_a_document_is_applied_whole_or_not_at_all(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    doc = {"tenants": [
        {"id": "vasteras", "name": "Västerås (renamed)", "staff": [{"id": "s-9"}]},
        {"id": "orebro", "name": "Örebro kommun",
         "plans": [{"id": "p-1", "resident": "r-404"}]},  # names a resident orebro lacks
    ]}
    r = await client.post("/api/v1/config", json=doc)
    assert r.status_code == 422
    assert "r-404" in r.json()["detail"]
    care = await _care(gw)
    assert (care.name, care.staff) == ("Västerås stad", [])


async def test_a_tenant_or_an_item_given_twice_is_refused(client: httpx.AsyncClient) -> None:
    twice = {"tenants": [{"id": "vasteras", "name": "A"}, {"id": "vasteras", "name": "B"}]}
    r = await client.post("/api/v1/config", json=twice)
    assert r.status_code == 422 and "vasteras" in r.json()["detail"]
    r = await client.post("/api/v1/config", json=_vasteras(staff=[{"id": "s-1"},
                                                                   {"id": "s-1"}]))
    assert r.status_code == 422 and "s-1" in r.json()["detail"]


async def test_a_role_derived_from_the_address_never_overwrites_one_that_was_given(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    seat = {"adapter": "zigbee2mqtt", "address": "seat", "kind": "passive_sensor",
            "resident": "r-1"}
    r = await client.post("/api/v1/config", json=_vasteras(devices=[{**seat, "role": "chair"}]))
    assert r.status_code == 200, r.text
    # the same device again without a role ("seat" suggests none): the given role stays
    r = await client.post("/api/v1/config", json=_vasteras(devices=[{**seat, "heartbeat_s": 60}]))
    assert r.status_code == 200, r.text
    entry = gw.directory.get("zigbee2mqtt:seat")
    assert entry is not None and entry.extra["role"] == "chair"
    assert (entry.heartbeat_s, entry.resident) == (60, "r-1")
