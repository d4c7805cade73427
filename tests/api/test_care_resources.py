"""The care configuration item by item: /api/v1/residents, /devices, /plans, /staff,
/consents, /supervision, ... (gateway/api/routes/care.py, gateway/core/care/items.py).

Each write is checked against the care file path: the same change written as a care
document and applied like a file must leave exactly the same stored rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.care import CareConfig, apply_care_config, tenant_care
from gateway.core.care.items import MODELS
from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings


def _tenant(tid: str, name: str, prefix: str) -> dict[str, Any]:
    return {
        "id": tid, "name": name,
        "residents": [{"id": "r-1", "label": "Lgh 1102"}, {"id": "r-2", "label": "Lgh 1204"}],
        "devices": [
            {"adapter": "zigbee2mqtt", "address": f"{prefix}bed", "kind": "passive_sensor",
             "resident": "r-1", "location": "Bedroom"},
            {"adapter": "zigbee2mqtt", "address": f"{prefix}door", "kind": "passive_sensor",
             "resident": "r-2"},
        ],
        "plans": [{"id": "p-1", "resident": "r-1",
                   "visits": [{"days": ["mon"], "start": "08:00", "end": "08:30"}]}],
        "staff": [{"id": "s-1", "label": "Undersköterska", "roles": ["home_care"],
                   "teams": ["norr"]}],
        "consents": [{"id": "c-1", "resident": "r-1", "purpose": "camera_supervision",
                      "valid_from": "2026-01-01T00:00:00+00:00",
                      "legal_basis": "samtycke, beslut 2026-1"}],
        "relatives": [{"id": "rel-0", "resident": "r-2", "label": "Son"}],
        "supervision": [{"resident": "r-1", "windows": [
            {"days": ["mon"], "start": "22:00", "end": "06:00"}]}],
    }


# "twin" holds the same as Västerås: each change goes to Västerås through the resource API
# and to the twin as a care document applied like a file; the stored rows must match.
CARE = {"tenants": [_tenant("vasteras", "Västerås stad", ""),
                    _tenant("twin", "Västerås stad", "t-"),
                    _tenant("sala", "Sala kommun", "s-")]}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    path = tmp_path / "care.json"
    path.write_text(json.dumps(CARE), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                    care_config=[path])


@pytest.fixture
def bearer(api_settings: Settings) -> Any:
    keys = LocalKeys(api_settings.data_dir / "keys")

    def make(*tenants: str, role: str = "admin", subject: str = "adm-1") -> dict[str, str]:
        tok = issue_token(keys, subject=subject, tenants=list(tenants), roles=[role],
                          ttl_s=600, issuer="navet", audience="navet-api")
        return {"Authorization": f"Bearer {tok}"}

    return make


async def _stored(gw: Gateway, tenant: str) -> dict[str, Any]:
    """Everything stored for ``tenant``, without what names the tenant itself; personal
    numbers opened (each is sealed with its own nonce and tenant)."""

    def read(conn: object) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for table in ("tenants", "residents", "devices", "plans"):
            rows = []
            for row in gw.store.rows(table, tenant):
                row = {k: v for k, v in row.items() if k not in ("tenant", "last_seen")}
                body = json.loads(row.pop("body") or "{}")
                sealed = body.pop("personal_number_enc", None)
                if sealed:
                    body["personal_number"] = gw.pii.decrypt(
                        sealed, context=f"resident:{tenant}:{row['id']}")
                if table == "tenants":
                    row.pop("id")
                if table == "devices":  # device ids are global: the twin's have a prefix
                    row["id"] = row["id"].replace(":t-", ":")
                    row["address"] = row["address"].removeprefix("t-")
                rows.append({**row, "body": body})
            out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True))
        return out

    return await gw.store.read(read)


async def _by_file(gw: Gateway, tenant: dict[str, Any]) -> None:
    """Apply one tenant of a care document to the twin, as a care file is applied."""
    doc = CareConfig.model_validate({"tenants": [{**tenant, "id": "twin"}]})
    await apply_care_config(doc, gw.store, gw.directory, gw.pii)


async def _same_as_file(gw: Gateway, document: dict[str, Any]) -> None:
    await _by_file(gw, document)
    assert await _stored(gw, "vasteras") == await _stored(gw, "twin")


async def _audited(client: httpx.AsyncClient, bearer: Any, method: str, route: str) -> list[str]:
    entries = (await client.get("/api/v1/audit", params={"tenant": "vasteras"},
                                headers=bearer("vasteras", role="auditor"))).json()
    return [e["decision"] for e in entries if e["action"] == f"api {method} {route}"]


V = {"tenant": "vasteras"}
NAME = {"name": "Västerås stad"}


async def test_residents_each_verb_like_a_care_file(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    admin = bearer("vasteras")
    assert await _stored(gw, "vasteras") == await _stored(gw, "twin")
    new = {"id": "r-3", "label": "Lgh 1301", "personal_number": "19121212-1212",
           "sex": "female", "birth_year": 1934}
    r = await client.post("/api/v1/residents", params=V, json=new, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["applied"] == {"residents": 1}
    await _same_as_file(gw, {**NAME, "residents": [new]})
    got = (await client.get("/api/v1/residents/r-3", params=V, headers=admin)).json()
    assert got["label"] == "Lgh 1301" and got["birth_year"] == 1934
    assert "personal_number" not in json.dumps(got) and "19121212" not in json.dumps(got)
    stored = await gw.store.read(lambda conn: gw.store.rows("residents", "vasteras"))
    assert "19121212" not in json.dumps(stored)  # sealed, as the file path stores it

    r = await client.patch("/api/v1/residents/r-3", params=V,
                           json={"label": "Lgh 1302", "sex": None}, headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "residents": [{"id": "r-3", "label": "Lgh 1302",
                                                    "sex": None}]})
    got = (await client.get("/api/v1/residents/r-3", params=V, headers=admin)).json()
    assert (got["label"], got["sex"], got["birth_year"]) == ("Lgh 1302", None, 1934)
    # the sealed personal number is kept by a change that does not give one
    care = await _stored(gw, "vasteras")
    assert [b["body"]["personal_number"] for b in care["residents"] if b["id"] == "r-3"] \
        == ["19121212-1212"]
    r = await client.patch("/api/v1/residents/r-3", params=V,
                           json={"personal_number": "191212121212"}, headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "residents": [{"id": "r-3",
                                                    "personal_number": "191212121212"}]})
    assert ["body", "personal_number"] in [e["loc"] for e in (await client.patch(
        "/api/v1/residents/r-3", params=V, json={"personal_number": "1912"},
        headers=admin)).json()["detail"]]

    r = await client.delete("/api/v1/residents/r-3", params=V, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"applied": {}, "removed": {"residents": 1}}
    twin = await gw.store.read(lambda conn: tenant_care(gw.store, "twin"))
    assert twin is not None
    await _same_as_file(gw, {**NAME, "replace": ["residents"], "residents": [
        r.model_dump(mode="json") for r in twin.residents if r.id != "r-3"]})
    assert (await client.get("/api/v1/residents/r-3", params=V, headers=admin)).status_code \
        == 404
    assert await _audited(client, bearer, "POST", "/api/v1/residents") == ["done"]
    assert sorted(await _audited(client, bearer, "PATCH", "/api/v1/residents/{resident}")) \
        == ["done", "done", "refused 422"]
    assert await _audited(client, bearer, "DELETE", "/api/v1/residents/{resident}") == ["done"]


async def test_a_device_is_registered_assigned_unassigned_and_removed(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    admin = bearer("vasteras")
    dev = {"adapter": "zigbee2mqtt", "address": "chair", "kind": "passive_sensor",
           "vendor": "Aqara"}
    r = await client.post("/api/v1/devices", params=V, json=dev, headers=admin)
    assert r.status_code == 201, r.text
    await _same_as_file(gw, {**NAME, "devices": [{**dev, "address": "t-chair"}]})
    entry = gw.directory.get("zigbee2mqtt:chair")
    assert entry is not None and entry.resident is None

    r = await client.patch("/api/v1/devices/zigbee2mqtt:chair", params=V,
                           json={"resident": "r-2", "role": "chair"}, headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "devices": [{**dev, "address": "t-chair",
                                                  "resident": "r-2", "role": "chair"}]})
    entry = gw.directory.get("zigbee2mqtt:chair")
    assert entry is not None and entry.resident == "r-2"  # the pipeline sees it at once
    listed = (await client.get("/api/v1/devices", params=V, headers=admin)).json()
    assert [d["resident"] for d in listed if d["id"] == "zigbee2mqtt:chair"] == ["r-2"]

    r = await client.patch("/api/v1/devices/zigbee2mqtt:chair", params=V,
                           json={"resident": None}, headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "devices": [{**dev, "address": "t-chair",
                                                  "resident": None}]})
    entry = gw.directory.get("zigbee2mqtt:chair")
    assert entry is not None and entry.resident is None

    r = await client.delete("/api/v1/devices/zigbee2mqtt:chair", params=V, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == {"devices": 1}
    assert gw.directory.get("zigbee2mqtt:chair") is None
    # the control: the other devices are still there
    assert gw.directory.get("zigbee2mqtt:bed") is not None
    assert (await client.delete("/api/v1/devices/zigbee2mqtt:chair", params=V,
                                headers=admin)).status_code == 404


# list, a new item, its key, a change, what the change must do
ITEMS = [
    ("plans", {"id": "p-2", "resident": "r-2",
               "visits": [{"days": ["tue"], "start": "09:00", "end": "09:20"}]}, "p-2",
     {"visits": [{"days": ["wed"], "start": "10:00", "end": "10:20", "team": "norr"}]}),
    ("staff", {"id": "s-2", "label": "Nattpatrull", "roles": ["night_supervision"]}, "s-2",
     {"teams": ["natt"], "label": "Natt"}),
    ("consents", {"id": "c-2", "resident": "r-2", "purpose": "notify_relatives",
                  "valid_from": "2026-02-01T00:00:00+00:00", "legal_basis": "samtycke"},
     "c-2", {"valid_to": "2026-12-31T00:00:00+00:00"}),
    ("supervision", {"resident": "r-2", "windows": [
        {"days": ["tue"], "start": "23:00", "end": "05:00"}], "max_session_s": 60}, "r-2",
     {"max_session_s": 90}),
    ("relatives", {"id": "rel-1", "resident": "r-1", "label": "Dotter"}, "rel-1",
     {"channel": "webhook-1"}),
]


@pytest.mark.parametrize(("name", "item", "key", "change"), ITEMS,
                         ids=[i[0] for i in ITEMS])
async def test_each_list_post_patch_delete_like_a_care_file(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any, name: str, item: dict[str, Any],
    key: str, change: dict[str, Any],
) -> None:
    admin = bearer("vasteras")
    r = await client.post(f"/api/v1/{name}", params=V, json=item, headers=admin)
    assert r.status_code == 201, r.text
    await _same_as_file(gw, {**NAME, name: [item]})
    assert (await client.post(f"/api/v1/{name}", params=V, json=item,
                              headers=admin)).status_code == 409

    r = await client.patch(f"/api/v1/{name}/{key}", params=V, json=change, headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, name: [{**item, **change}]})
    got = (await client.get(f"/api/v1/{name}/{key}", params=V, headers=admin)).json()
    assert got == MODELS[name].model_validate({**item, **change}).model_dump(mode="json")
    assert (await client.patch(f"/api/v1/{name}/nobody", params=V, json=change,
                               headers=admin)).status_code == 404

    r = await client.delete(f"/api/v1/{name}/{key}", params=V, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == {name: 1}
    twin = await gw.store.read(lambda conn: tenant_care(gw.store, "twin"))
    assert twin is not None
    await _same_as_file(gw, {**NAME, "replace": [name], name: [
        i.model_dump(mode="json") for i in getattr(twin, name)
        if i.model_dump(mode="json").get("id", i.model_dump(mode="json").get("resident"))
        != key]})
    care = await gw.store.read(lambda conn: tenant_care(gw.store, "vasteras"))
    assert care is not None and getattr(care, name), "the other items are kept"
    assert (await client.delete(f"/api/v1/{name}/{key}", params=V,
                                headers=admin)).status_code == 404
    assert sorted(await _audited(client, bearer, "POST", f"/api/v1/{name}")) == [
        "done", "refused 409"]


async def test_deleting_a_resident_others_name_is_409_naming_them_unless_cascade(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    admin = bearer("vasteras")
    before = await _stored(gw, "vasteras")
    r = await client.delete("/api/v1/residents/r-1", params=V, headers=admin)
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    for named in ("zigbee2mqtt:bed", "p-1", "c-1", "supervision"):
        assert named in detail
    assert await _stored(gw, "vasteras") == before
    # r-2 has a device only
    r = await client.delete("/api/v1/residents/r-2", params=V, headers=admin)
    assert r.status_code == 409 and "zigbee2mqtt:door" in r.json()["detail"]

    r = await client.delete("/api/v1/residents/r-1", params={**V, "cascade": "true"},
                            headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["removed"] == {"residents": 1, "plans": 1, "consents": 1,
                                   "supervision": 1}
    assert r.json()["applied"] == {"devices": 1}  # unassigned
    care = await gw.store.read(lambda conn: tenant_care(gw.store, "vasteras"))
    assert care is not None
    assert [x.id for x in care.residents] == ["r-2"]
    assert care.plans == [] and care.consents == [] and care.supervision == []
    assert [s.id for s in care.staff] == ["s-1"]  # staff do not name residents
    bed = gw.directory.get("zigbee2mqtt:bed")
    assert bed is not None and bed.resident is None  # kept, unassigned
    await _same_as_file(gw, {
        **NAME, "replace": ["residents", "plans", "consents", "supervision"],
        "residents": [{"id": "r-2", "label": "Lgh 1204"}],
        "devices": [{"adapter": "zigbee2mqtt", "address": "t-bed", "kind": "passive_sensor",
                     "resident": None}]})


async def test_another_tenants_admin_writes_nothing_through_any_route(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    vasteras = bearer("vasteras")
    before = await _stored(gw, "sala")
    sala = {"tenant": "sala"}
    calls = [
        ("POST", "/api/v1/residents", {"id": "x"}),
        ("PATCH", "/api/v1/residents/r-1", {"label": "hijacked"}),
        ("DELETE", "/api/v1/residents/r-1", None),
        ("PATCH", "/api/v1/devices/zigbee2mqtt:s-bed", {"resident": None}),
        ("DELETE", "/api/v1/devices/zigbee2mqtt:s-bed", None),
        ("POST", "/api/v1/staff", {"id": "evil"}),
        ("DELETE", "/api/v1/staff/s-1", None),
        ("PATCH", "/api/v1/consents/c-1", {"withdrawn": "2026-01-02T00:00:00+00:00"}),
        ("DELETE", "/api/v1/supervision/r-1", None),
        ("DELETE", "/api/v1/plans/p-1", None),
    ]
    for method, path, body in calls:
        r = await client.request(method, path, params=sala, json=body, headers=vasteras)
        assert r.status_code == 403, (method, path, r.text)
        # ... nor by naming its own tenant for another tenant's device
    r = await client.patch("/api/v1/devices/zigbee2mqtt:s-bed", params=V,
                           json={"resident": None}, headers=vasteras)
    assert r.status_code == 404, r.text
    dev = {"adapter": "zigbee2mqtt", "address": "s-bed", "kind": "passive_sensor"}
    r = await client.post("/api/v1/devices", params=V, json=dev, headers=vasteras)
    assert r.status_code == 403, r.text
    assert await _stored(gw, "sala") == before
    # the control: Sala's own admin may
    r = await client.patch("/api/v1/residents/r-1", params=sala, json={"label": "ny"},
                           headers=bearer("sala"))
    assert r.status_code == 200, r.text
    assert await _stored(gw, "sala") != before


async def test_only_admins_write(client: httpx.AsyncClient, gw: Gateway, bearer: Any) -> None:
    for role in ("operator", "staff", "auditor"):
        r = await client.post("/api/v1/staff", params=V, json={"id": "s-9"},
                              headers=bearer("vasteras", role=role))
        assert r.status_code == 403, (role, r.text)
        r = await client.patch("/api/v1/staff/s-1", params=V, json={"label": "x"},
                               headers=bearer("vasteras", role=role))
        assert r.status_code == 403, (role, r.text)
    r = await client.post("/api/v1/staff", params=V, json={"id": "s-9"},
                          headers=bearer("vasteras"))
    assert r.status_code == 201, r.text


async def test_invalid_bodies_are_422_naming_the_field(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    admin = bearer("vasteras")
    before = await _stored(gw, "vasteras")

    def locs(r: httpx.Response) -> list[list[Any]]:
        assert r.status_code == 422, r.text
        return [e["loc"] for e in r.json()["detail"]]

    # POST: the body, as the care file would be validated
    assert ["body", "birth_year"] in locs(await client.post(
        "/api/v1/residents", params=V, json={"id": "r-9", "birth_year": 1700}, headers=admin))
    assert ["body", "colour"] in locs(await client.post(
        "/api/v1/staff", params=V, json={"id": "s-9", "colour": "red"}, headers=admin))
    assert ["body", "purpose"] in locs(await client.post(
        "/api/v1/consents", params=V, json={"id": "c-9", "resident": "r-1", "purpose": "spy",
                                            "valid_from": "2026-01-01T00:00:00Z",
                                            "legal_basis": "x"}, headers=admin))
    # PATCH: the stored item with the change, validated whole
    assert ["body", "max_session_s"] in locs(await client.patch(
        "/api/v1/supervision/r-1", params=V, json={"max_session_s": 5}, headers=admin))
    assert ["body", "roles", 0] in locs(await client.patch(
        "/api/v1/staff/s-1", params=V, json={"roles": ["king"]}, headers=admin))
    assert ["body", "kind"] in locs(await client.patch(
        "/api/v1/devices/zigbee2mqtt:bed", params=V, json={"kind": "toaster"}, headers=admin))
    assert ["body", "id"] in locs(await client.patch(
        "/api/v1/plans/p-1", params=V, json={"id": "p-9"}, headers=admin))
    assert ["body", "address"] in locs(await client.patch(
        "/api/v1/devices/zigbee2mqtt:bed", params=V, json={"address": "chair"}, headers=admin))
    assert ["body", "resident"] in locs(await client.patch(
        "/api/v1/supervision/r-1", params=V, json={"resident": "r-2"}, headers=admin))
    # valid alone, invalid with what is stored: a resident the tenant does not have
    r = await client.patch("/api/v1/devices/zigbee2mqtt:bed", params=V,
                           json={"resident": "r-404"}, headers=admin)
    assert r.status_code == 422 and "r-404" in r.json()["detail"], r.text
    r = await client.post("/api/v1/plans", params=V, json={"id": "p-9", "resident": "r-404"},
                          headers=admin)
    assert r.status_code == 422 and "r-404" in r.json()["detail"], r.text
    assert await _stored(gw, "vasteras") == before
    # the control: a valid change goes through
    r = await client.patch("/api/v1/staff/s-1", params=V, json={"roles": ["nurse"]},
                           headers=admin)
    assert r.status_code == 200, r.text
    assert await _stored(gw, "vasteras") != before


async def test_teams_are_set_and_removed_through_their_members(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    admin = bearer("vasteras")
    assert (await client.post("/api/v1/staff", params=V, json={"id": "s-2", "teams": ["syd"]},
                              headers=admin)).status_code == 201
    await _by_file(gw, {**NAME, "staff": [{"id": "s-2", "teams": ["syd"]}]})
    got = (await client.get("/api/v1/teams", params=V, headers=admin)).json()
    assert got == [{"id": "norr", "members": ["s-1"]}, {"id": "syd", "members": ["s-2"]}]

    r = await client.put("/api/v1/teams/natt", params=V, json={"members": ["s-1", "s-2"]},
                         headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "staff": [{"id": "s-1", "teams": ["norr", "natt"]},
                                               {"id": "s-2", "teams": ["syd", "natt"]}]})
    r = await client.put("/api/v1/teams/natt", params=V, json={"members": ["s-2"]},
                         headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "staff": [{"id": "s-1", "teams": ["norr"]}]})
    got = (await client.get("/api/v1/teams", params=V, headers=admin)).json()
    assert {"id": "natt", "members": ["s-2"]} in got
    # an unknown member: 422 naming them, nothing changed
    before = await _stored(gw, "vasteras")
    r = await client.put("/api/v1/teams/natt", params=V, json={"members": ["s-2", "s-404"]},
                         headers=admin)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "members", 1]
    assert await _stored(gw, "vasteras") == before

    r = await client.delete("/api/v1/teams/natt", params=V, headers=admin)
    assert r.status_code == 200, r.text
    await _same_as_file(gw, {**NAME, "staff": [{"id": "s-2", "teams": ["syd"]}]})
    assert (await client.delete("/api/v1/teams/natt", params=V, headers=admin)
            ).status_code == 404
    # a team that visits name stays until the visits change
    r = await client.patch("/api/v1/plans/p-1", params=V, json={"visits": [
        {"days": ["mon"], "start": "08:00", "end": "08:30", "team": "norr"}]}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.delete("/api/v1/teams/norr", params=V, headers=admin)
    assert r.status_code == 409 and "p-1" in r.json()["detail"], r.text
    # and only this tenant's admin may
    assert (await client.put("/api/v1/teams/natt", params={"tenant": "sala"},
                             json={"members": []}, headers=admin)).status_code == 403
    assert (await client.put("/api/v1/teams/natt", params=V, json={"members": []},
                             headers=bearer("vasteras", role="operator"))).status_code == 403
