"""POST /api/v1/config names its tenants in the body: each one is checked against the token.

The attack that found this: a Västerås admin token posted a document for Sala and got 200;
Sala's name and a resident were rewritten and its staff list emptied. Every tenant a
document touches must be one the token is valid for, or nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from gateway.api.deps import tenant_scope
from gateway.core.care import tenant_care
from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, Principal, issue_token
from gateway.core.settings import Settings

from .conftest import CARE, frame

OREBRO = {"id": "orebro", "name": "Örebro kommun",
          "residents": [{"id": "o-1", "label": "Storgatan 4"}],
          "staff": [{"id": "o-staff-1", "label": "Bertil"}]}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = {"tenants": [CARE["tenants"][0], OREBRO]}
    path = tmp_path / "care.json"
    path.write_text(json.dumps(care), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"},
                              {"adapter": "zigbee2mqtt", "tenant": "orebro",
                               "settings": {"base_topic": "z2m-orebro"}}],
                    care_config=[path])


@pytest.fixture
def bearer(api_settings: Settings) -> Any:
    keys = LocalKeys(api_settings.data_dir / "keys")

    def make(*tenants: str, role: str = "admin", subject: str = "adm-1") -> dict[str, str]:
        tok = issue_token(keys, subject=subject, tenants=list(tenants), roles=[role],
                          ttl_s=600, issuer="navet", audience="navet-api")
        return {"Authorization": f"Bearer {tok}"}

    return make


def _orebro_rewritten() -> dict[str, Any]:
    """What the attack posted (before the fix it also emptied the staff list it left out)."""
    return {"tenants": [{"id": "orebro", "name": "Hijacked",
                         "residents": [{"id": "o-1", "label": "rewritten"}]}]}


async def _orebro(gw: Gateway) -> tuple[str, list[str], list[str]]:
    care = await gw.store.read(lambda conn: tenant_care(gw.store, "orebro"))
    assert care is not None
    return care.name, [r.label for r in care.residents], [s.id for s in care.staff]


UNTOUCHED = ("Örebro kommun", ["Storgatan 4"], ["o-staff-1"])


async def test_an_admin_of_one_tenant_cannot_write_another(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    vasteras = bearer("vasteras")
    r = await client.post("/api/v1/config", json=_orebro_rewritten(), headers=vasteras)
    assert r.status_code == 403, r.text
    assert "orebro" in r.json()["detail"]
    assert await _orebro(gw) == UNTOUCHED
    # mixed with its own tenant: still nothing of either is written
    mixed = {"tenants": [{"id": "vasteras", "name": "Västerås (renamed)"},
                         *_orebro_rewritten()["tenants"]]}
    assert (await client.post("/api/v1/config", json=mixed, headers=vasteras)).status_code == 403
    assert await _orebro(gw) == UNTOUCHED
    vasteras_care = await gw.store.read(lambda conn: tenant_care(gw.store, "vasteras"))
    assert vasteras_care is not None and vasteras_care.name == "Västerås stad"
    # nor can it create a tenant it has no token for
    new = {"tenants": [{"id": "uppsala", "name": "Uppsala kommun"}]}
    assert (await client.post("/api/v1/config", json=new, headers=vasteras)).status_code == 403
    tenants = await gw.store.read(lambda conn: gw.store.rows("tenants"))
    assert "uppsala" not in {t["id"] for t in tenants}
    # the control: the same write by Örebro's own admin goes through
    own = await client.post("/api/v1/config", json=_orebro_rewritten(),
                            headers=bearer("orebro"))
    assert own.status_code == 200, own.text
    assert own.json()["removed"] == {}
    assert await _orebro(gw) == ("Hijacked", ["rewritten"], ["o-staff-1"])  # staff merged


async def test_a_device_of_another_tenant_cannot_be_taken_over(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    # device ids are global (<adapter>:<address>): naming Västerås' bed sensor in Örebro's
    # document would move it, and Västerås' own frames from it would be refused after
    grab = {"tenants": [{"id": "orebro", "name": "Örebro kommun", "devices": [
        {"adapter": "zigbee2mqtt", "address": "bed", "kind": "passive_sensor"}]}]}
    r = await client.post("/api/v1/config", json=grab, headers=bearer("orebro"))
    assert r.status_code == 403, r.text
    assert "zigbee2mqtt:bed" in r.json()["detail"] and "vasteras" not in r.json()["detail"]
    entry = gw.directory.get("zigbee2mqtt:bed")
    assert entry is not None and (entry.tenant, entry.resident) == ("vasteras", "r-1")
    stored = await gw.store.read(lambda conn: gw.store.rows("devices", "vasteras"))
    assert "zigbee2mqtt:bed" in {d["id"] for d in stored}
    result = await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
    assert result.accepted and result.dead_letter is None
    stored_event = await gw.store.read(
        lambda conn: gw.store.get_event("vasteras", result.accepted[0]))
    assert stored_event is not None and stored_event.event.resident == "r-1"
    # a token valid for both tenants may move it: it touches both, and may act for both
    moved = await client.post("/api/v1/config", json=grab,
                              headers=bearer("vasteras", "orebro"))
    assert moved.status_code == 200, moved.text
    entry = gw.directory.get("zigbee2mqtt:bed")
    assert entry is not None and (entry.tenant, entry.resident) == ("orebro", None)


async def test_a_configuration_change_is_audited_in_the_tenant_it_changed(
    client: httpx.AsyncClient, gw: Gateway, bearer: Any
) -> None:
    both = bearer("vasteras", "orebro", subject="adm-both")
    doc = {"tenants": [{"id": "orebro", "name": "Örebro kommun", "staff": [{"id": "o-2"}]}]}
    assert (await client.post("/api/v1/config", json=doc, headers=both)).status_code == 200

    async def actions(tenant: str) -> list[tuple[str, str]]:
        entries = (await client.get("/api/v1/audit", params={"tenant": tenant},
                                    headers=bearer(tenant, role="auditor"))).json()
        return [(e["actor"]["id"], e["action"]) for e in entries]

    assert ("adm-both", "api POST /api/v1/config") in await actions("orebro")
    assert ("adm-both", "api POST /api/v1/config") not in await actions("vasteras")


def _request(principal: Principal) -> Request:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [],
                       "query_string": b"", "state": {}})
    request.state.principal = principal
    return request


async def test_the_tenant_scope_checks_the_token_itself(gw: Gateway, app: object) -> None:
    """Defence in depth: the scope every tenant route uses refuses a tenant the token lacks,
    even if the app-wide check were bypassed (it reads the query string separately)."""
    from fastapi import HTTPException

    vasteras = Principal("op-1", frozenset({"vasteras"}), frozenset({"operator"}))
    assert (await tenant_scope(gw, _request(vasteras), "vasteras")).id == "vasteras"
    with pytest.raises(HTTPException) as refused:
        await tenant_scope(gw, _request(vasteras), "orebro")
    assert refused.value.status_code == 403 and "orebro" in str(refused.value.detail)
