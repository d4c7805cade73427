"""What the administrator's and the auditor's screens read: the tenant's adapter instances
with their state (``GET /api/v1/adapters``), and the audit log searched by action and time."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import FakeClock
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings

from .conftest import CARE


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"},
                              {"adapter": "zigbee2mqtt", "tenant": "orebro", "id": "z2m-ore",
                               "settings": {"base_topic": "z2m-orebro"}}],
                    care_config=[care],
                    subscriptions=[{"id": s, "tenant": "vasteras", "sink": "mqtt"}
                                   for s in ("centre", "night-team", "backup")],
                    routing=[{"tenant": "vasteras", "fallback": "backup", "routes": [
                        {"name": "Falls at night", "to": "night-team",
                         "match": {"types": ["alarm."], "kinds": ["fall"],
                                   "priorities": ["high", "critical"]},
                         "when": [{"days": ["mon", "tue"], "start": "22:00", "end": "07:00"}]},
                        {"name": "Everything else", "to": "centre", "fallback": "centre",
                         "failover_after": 3}]}])


def _token(settings: Settings, role: str, subject: str,
           tenants: tuple[str, ...] = ("vasteras",)) -> dict[str, str]:
    tok = issue_token(LocalKeys(settings.data_dir / "keys"), subject=subject,
                      tenants=list(tenants), roles=[role], ttl_s=600, issuer="navet",
                      audience="navet-api")
    return {"Authorization": f"Bearer {tok}"}


async def test_adapters_lists_the_tenants_instances_with_their_state(
        client: httpx.AsyncClient, api_settings: Settings) -> None:
    admin = _token(api_settings, "admin", "adm-1")
    found = await client.get("/api/v1/adapters", params={"tenant": "vasteras"}, headers=admin)
    assert found.status_code == 200, found.text
    [one] = found.json()  # only this tenant's instance, not Örebro's
    assert one["id"] == "zigbee2mqtt-vasteras" and one["adapter"] == "zigbee2mqtt"
    assert one["running"] is True and one["error"] is None
    assert "passive_sensor" in one["device_kinds"] and "mqtt" in one["transports"]
    assert one["vendor"]
    # another municipality's instances: not with this token
    assert (await client.get("/api/v1/adapters", params={"tenant": "orebro"},
                             headers=admin)).status_code == 403
    # administrators only
    assert (await client.get("/api/v1/adapters", params={"tenant": "vasteras"},
                             headers=_token(api_settings, "operator", "op-1"))
            ).status_code == 403


async def test_audit_search_by_action_and_time(
        client: httpx.AsyncClient, api_settings: Settings, clock: FakeClock) -> None:
    admin = _token(api_settings, "admin", "adm-1")
    start = clock.now()
    added = await client.post("/api/v1/residents", params={"tenant": "vasteras"},
                              json={"id": "r-9", "label": "Lgh 9"}, headers=admin)
    assert added.status_code == 201, added.text
    await clock.advance(2 * 3600)
    middle = start + timedelta(hours=1)
    changed = await client.patch("/api/v1/residents/r-9", params={"tenant": "vasteras"},
                                 json={"label": "Lgh 9 B"}, headers=admin)
    assert changed.status_code == 200, changed.text
    auditor = _token(api_settings, "auditor", "aud-1")

    async def search(**params: Any) -> list[tuple[str, str]]:
        got = await client.get("/api/v1/audit", params={"tenant": "vasteras", **params},
                               headers=auditor)
        assert got.status_code == 200, got.text
        return [(e["actor"]["id"], e["action"]) for e in got.json()]

    # the action contains the words, in any case; "_" and "%" are no wildcards
    assert await search(action="RESIDENTS") == [
        ("adm-1", "api PATCH /api/v1/residents/{resident}"),
        ("adm-1", "api POST /api/v1/residents")]
    assert await search(action="post /api/v1/res%") == []
    assert await search(action="patch", actor="adm-1") == [
        ("adm-1", "api PATCH /api/v1/residents/{resident}")]
    # a time window: since inclusive, until exclusive
    assert await search(action="residents", until=middle.isoformat()) == [
        ("adm-1", "api POST /api/v1/residents")]
    assert await search(action="residents", since=middle.isoformat()) == [
        ("adm-1", "api PATCH /api/v1/residents/{resident}")]
    assert await search(actor="nobody") == []
    # the calendar's ends, in any time zone: everything, or nothing; never a server error
    assert len(await search(action="residents", since="0001-01-01T00:00:00+01:00")) == 2
    assert await search(action="residents", since="9999-12-31T23:59:59-01:00") == []


async def test_routing_says_who_receives_what_and_who_takes_over(
        client: httpx.AsyncClient, api_settings: Settings) -> None:
    admin = _token(api_settings, "admin", "adm-1")
    found = await client.get("/api/v1/routing", params={"tenant": "vasteras"}, headers=admin)
    assert found.status_code == 200, found.text
    night, rest = found.json()
    assert (night["name"], night["to"], night["fallback"], night["failover_after"]) == (
        "Falls at night", "night-team", "backup", 1)  # the tenant's fallback
    assert (night["types"], night["kinds"], night["priorities"]) == (
        ["alarm."], ["fall"], ["high", "critical"])
    assert night["when"] == [{"days": ["mon", "tue"], "start": "22:00:00", "end": "07:00:00"}]
    assert (rest["to"], rest["fallback"], rest["failover_after"], rest["when"]) == (
        "centre", "centre", 3, [])
    # nothing of another municipality, and administrators only
    ore = _token(api_settings, "admin", "adm-2", ("orebro",))
    assert (await client.get("/api/v1/routing", params={"tenant": "orebro"},
                             headers=ore)).json() == []
    assert (await client.get("/api/v1/routing", params={"tenant": "vasteras"},
                             headers=_token(api_settings, "auditor", "aud-1"))
            ).status_code == 403
