"""The follow-up API and screen: roles, tenant checks, CSV equal to JSON, settings audited.

The figures themselves are tested against a simulated month in tests/followup/; here the
same month is served over HTTP with authentication on.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings
from tests.followup import month

PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(month.CARE), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
                    care_config=[care])


@pytest.fixture
def auth(api_settings: Settings) -> Any:
    keys = LocalKeys(api_settings.data_dir / "keys")

    def make(role: str, *tenants: str, subject: str = "u-1") -> dict[str, str]:
        tok = issue_token(keys, subject=subject, tenants=list(tenants or ["vasteras"]),
                          roles=[role], ttl_s=3600, issuer="navet", audience="navet-api")
        return {"Authorization": f"Bearer {tok}"}

    return make


@pytest.fixture
async def seeded(app: Any, gw: Gateway) -> Gateway:
    events = [e for e in month.events() if e.type != "medication.dose_missed"]
    for start in range(0, len(events), 200):  # stored as the pipeline would store them
        await gw.store.append(events[start:start + 200])
    return gw


async def test_an_analyst_reads_its_municipality_and_gets_403_for_another(
        client: httpx.AsyncClient, seeded: Gateway, auth: Any) -> None:
    analyst = auth("analyst", "vasteras")
    ok = await client.get("/api/v1/followup/indicators",
                          params={"tenant": "vasteras", **PERIOD}, headers=analyst)
    assert ok.status_code == 200, ok.text
    rows = {r["id"]: r for r in ok.json()}
    assert rows["users.gps_alarm"]["value"] == 21
    assert rows["medication.taken"]["value"] == 90
    assert rows["skr.gps_share_80_ordinary"]["status"] == "yellow"
    for path in ("indicators", "report", "breakdown", "survey"):
        other = await client.get(f"/api/v1/followup/{path}", params={"tenant": "sala"},
                                 headers=analyst)
        assert other.status_code == 403, path
    refused = await client.get("/api/v1/followup/compare",
                               params={"tenants": "vasteras,sala"}, headers=analyst)
    assert refused.status_code == 403 and "sala" in refused.json()["detail"]
    # an analyst has no business with events, residents or the configuration
    for path in ("/api/v1/events", "/api/v1/residents"):
        got = await client.get(path, params={"tenant": "vasteras"}, headers=analyst)
        assert got.status_code == 403, path


async def test_roles_that_may_not_read_follow_up(client: httpx.AsyncClient, seeded: Gateway,
                                                 auth: Any) -> None:
    for role in ("operator", "staff", "vendor"):
        got = await client.get("/api/v1/followup/indicators", params={"tenant": "vasteras"},
                               headers=auth(role))
        assert got.status_code == 403, role
    assert (await client.get("/api/v1/followup/indicators",
                             params={"tenant": "vasteras"})).status_code == 401
    for role in ("analyst", "region", "admin", "auditor"):
        got = await client.get("/api/v1/followup/indicators", params={"tenant": "vasteras"},
                               headers=auth(role))
        assert got.status_code == 200, role


async def test_csv_parses_and_matches_json(client: httpx.AsyncClient, seeded: Gateway,
                                           auth: Any) -> None:
    headers = auth("analyst")
    params = {"tenant": "vasteras", **PERIOD}
    rows = (await client.get("/api/v1/followup/indicators", params=params,
                             headers=headers)).json()
    got = await client.get("/api/v1/followup/indicators", params={**params, "format": "csv"},
                           headers=headers)
    assert got.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert [r["id"] for r in table] == [r["id"] for r in rows]
    for j, c in zip(rows, table, strict=True):
        assert c["label"] == j["label"] and c["unit"] == j["unit"]
        assert c["status"] == j["status"]
        for key in ("value", "target"):
            assert (float(c[key]) if c[key] else None) == j[key], (j["id"], key)
    # the breakdown and the survey too
    for path in ("breakdown", "survey"):
        js = (await client.get(f"/api/v1/followup/{path}", params=params,
                               headers=headers)).json()
        cs = list(csv.DictReader(io.StringIO((await client.get(
            f"/api/v1/followup/{path}", params={**params, "format": "csv"},
            headers=headers)).text)))
        assert len(cs) == len(js) > 0
        assert all((c["value" if path == "survey" else "persons"] or None) ==
                   (None if j["value" if path == "survey" else "persons"] is None
                    else str(j["value" if path == "survey" else "persons"]))
                   for c, j in zip(cs, js, strict=True))


async def test_region_compares_municipalities_side_by_side(
        client: httpx.AsyncClient, seeded: Gateway, auth: Any) -> None:
    region = auth("region", "vasteras", "sala")
    got = await client.get("/api/v1/followup/compare",
                           params={"tenants": "vasteras,sala", **PERIOD}, headers=region)
    assert got.status_code == 200, got.text
    body = got.json()
    assert [t["id"] for t in body["tenants"]] == ["vasteras", "sala"]
    rows = {r["id"]: r for r in body["indicators"]}
    assert rows["users.gps_alarm"]["vasteras"]["value"] == 21
    assert rows["users.gps_alarm"]["sala"]["value"] == 0
    assert rows["alarms.acknowledged_median_s"]["sala"]["status"] == "none"
    text = json.dumps(body)
    assert "gw-0" not in text and "birth_year" not in text  # no personal data
    flat = list(csv.DictReader(io.StringIO((await client.get(
        "/api/v1/followup/compare", params={"tenants": "vasteras,sala", **PERIOD,
                                            "format": "csv"}, headers=region)).text)))
    assert {"vasteras.value", "sala.status"} <= set(flat[0])
    # a region token for one municipality cannot name another
    one = auth("region", "vasteras")
    assert (await client.get("/api/v1/followup/compare", params={"tenants": "vasteras,sala"},
                             headers=one)).status_code == 403


async def test_denominators_entered_by_admin_are_merged_and_audited(
        client: httpx.AsyncClient, seeded: Gateway, auth: Any) -> None:
    admin = auth("admin", subject="adm-7")
    entry = {"statistics": [{"year": 2026, "residents_80_ordinary": 900,
                             "source": "SCB folkmängd 31 dec 2025"}]}
    assert (await client.post("/api/v1/followup/settings", params={"tenant": "vasteras"},
                              json=entry, headers=auth("analyst"))).status_code == 403
    got = await client.post("/api/v1/followup/settings", params={"tenant": "vasteras"},
                            json=entry, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["followup"]["statistics"][0]["residents_80_ordinary"] == 900
    assert got.json()["followup"]["targets"]  # the stored target was kept
    rows = {r["id"]: r for r in (await client.get(
        "/api/v1/followup/indicators", params={"tenant": "vasteras", **PERIOD},
        headers=admin)).json()}
    assert rows["skr.gps_share_80_ordinary"]["value"] == 2.0  # 18 of 900
    assert rows["skr.gps_share_80_ordinary"]["status"] == "green"
    entries = await seeded.audit.entries("vasteras")
    mine = [e for e in entries if e.action == "followup settings"]
    assert mine and mine[-1].actor == "adm-7"
    assert "900" in json.dumps(mine[-1].detail)
    bad = await client.post("/api/v1/followup/settings", params={"tenant": "vasteras"},
                            json={"targets": {"nope": {"target": 1}}}, headers=admin)
    assert bad.status_code == 422 and "nope" in bad.text
    bad_period = await client.get("/api/v1/followup/indicators", headers=admin, params={
        "tenant": "vasteras", "from": "2026-03-31", "to": "2026-03-01"})
    assert bad_period.status_code == 422 and "before it starts" in bad_period.text


async def test_the_follow_up_screen(client: httpx.AsyncClient, seeded: Gateway,
                                    auth: Any) -> None:
    analyst = auth("analyst", "vasteras")
    page = await client.get("/console/uppfoljning", params={"tenant": "vasteras", **PERIOD},
                            headers=analyst)
    assert page.status_code == 200, page.text
    html = page.text
    assert '<html lang="sv">' in html and "Uppföljning" in html
    # one radar per area with targets; users per technology have none until the
    # municipality sets its own
    assert html.count("<svg") == 6
    assert "Inga indikatorer med mål och värde att rita." in html
    assert 'data-indicator="skr.gps_share_80_ordinary" data-status="yellow"' in html
    assert "Gul: nästan där" in html  # the status in words, not colour alone
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    english = await client.get("/console/uppfoljning", params={"tenant": "vasteras",
                                                               "lang": "en", **PERIOD},
                               headers=analyst)
    assert '<html lang="en">' in english.text and "Target attainment" in english.text
    # the screen reads the API with the caller's credentials: no token, no figures; a
    # person without a session is sent to sign in and comes back here afterwards
    anonymous = await client.get("/console/uppfoljning")
    assert anonymous.status_code == 303, anonymous.text
    assert anonymous.headers["location"].startswith("/signin?next=%2Fconsole%2Fuppfoljning")
    assert "figur" not in anonymous.text.lower()
    other = await client.get("/console/uppfoljning", params={"tenant": "sala"},
                             headers=analyst)
    assert other.status_code == 403  # refused before the page runs, like the API
