"""Staff API: my visits now and today; open and lock doors, with the refusal explained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from tests.core.policy.helpers import DOOR_1, MONDAY_0645_UTC, TENANT, FakeLock, lock_gateway


@pytest.fixture
def lock_clock() -> FakeClock:
    return FakeClock(MONDAY_0645_UTC)


@pytest.fixture
async def staff_client(tmp_path: Path, lock_clock: FakeClock
                       ) -> AsyncIterator[tuple[httpx.AsyncClient, Gateway]]:
    async for gw in lock_gateway(tmp_path, lock_clock):
        app = create_app(gateway=gw)
        app.state.gateway = gw  # already started by the helper; no lifespan here
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://navet") as c:
            yield c, gw


def as_staff(staff: str) -> dict[str, str]:
    return {"X-Navet-Actor": staff}


Q = {"tenant": TENANT}


async def test_my_visits_now_and_today(staff_client: tuple[httpx.AsyncClient, Gateway]
                                       ) -> None:
    client, _ = staff_client
    resp = await client.get("/api/v1/staff/me/visits", params=Q, headers=as_staff("s-anna"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["timezone"] == "Europe/Stockholm"
    assert body["now"].startswith("2026-01-05T07:45:00+01:00")
    visits = [(v["plan"], v["start"][11:16], v["now"], v["doors"]) for v in body["visits"]]
    assert visits == [("plan-1001", "07:30", True, [DOOR_1]),
                      ("plan-1001", "23:50", False, [DOOR_1])]
    assert body["visits"][0]["door_from"].startswith("2026-01-05T07:20")
    bo = (await client.get("/api/v1/staff/me/visits", params=Q,
                           headers=as_staff("s-bo"))).json()
    assert [(v["plan"], v["now"]) for v in bo["visits"]] == [("plan-1002", False)]


async def test_someone_who_is_not_staff_sees_no_visits(
        staff_client: tuple[httpx.AsyncClient, Gateway]) -> None:
    client, _ = staff_client
    resp = await client.get("/api/v1/staff/me/visits", params=Q, headers=as_staff("x"))
    assert resp.status_code == 403
    resp = await client.get("/api/v1/staff/me/visits", params=Q)
    assert resp.status_code == 401


async def test_unlock_during_my_visit_then_lock(
        staff_client: tuple[httpx.AsyncClient, Gateway]) -> None:
    client, gw = staff_client
    resp = await client.post(f"/api/v1/staff/doors/{DOOR_1}/unlock", params=Q,
                             headers=as_staff("s-anna"))
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["status"] == "sent" and body["decision"]["code"] == "visit"
    assert body["decision"]["basis"]["plan"] == "plan-1001"
    resp = await client.post(f"/api/v1/staff/doors/{DOOR_1}/lock", params=Q,
                             headers=as_staff("s-anna"))
    assert resp.status_code == 202
    assert [c.name for c in FakeLock.executed] == ["lock.unlock", "lock.lock"]
    entries = await gw.audit.entries(TENANT, actor="s-anna")
    domain = [e for e in entries if not e.action.startswith("api ")]  # the calls are audited too
    assert len(domain) == 4
    assert sum(e.action.startswith("api POST") for e in entries) == 2


async def test_a_refusal_is_403_with_the_reason(
        staff_client: tuple[httpx.AsyncClient, Gateway], lock_clock: FakeClock) -> None:
    client, gw = staff_client
    resp = await client.post(f"/api/v1/staff/doors/{DOOR_1}/unlock", params=Q,
                             headers=as_staff("s-bo"))
    assert resp.status_code == 403
    detail = resp.json()["detail"]
    assert detail["status"] == "denied" and detail["decision"]["code"] == "not_assigned"
    assert "no visit to this resident is planned for them" in detail["reason"]
    lock_clock._now += timedelta(hours=2)
    resp = await client.post(f"/api/v1/staff/doors/{DOOR_1}/unlock", params=Q,
                             headers=as_staff("s-anna"))
    assert resp.status_code == 403
    assert resp.json()["detail"]["decision"]["code"] == "no_visit_now"
    assert FakeLock.executed == []
    denied = gw.store.query_events(TENANT, types=["lock.denied"])
    assert len(denied) == 2


async def test_vendor_refusal_and_outage_are_409_and_503(
        staff_client: tuple[httpx.AsyncClient, Gateway]) -> None:
    client, _ = staff_client
    FakeLock.answer = "refuse"
    resp = await client.post(f"/api/v1/staff/doors/{DOOR_1}/unlock", params=Q,
                             headers=as_staff("s-anna"))
    assert resp.status_code == 409 and "jammed" in resp.json()["reason"]
    FakeLock.answer = "down"
    resp = await client.post(f"/api/v1/staff/doors/{DOOR_1}/unlock", params=Q,
                             headers=as_staff("s-anna"))
    assert resp.status_code == 503 and resp.json()["status"] == "failed"


async def test_staff_list_shows_ids_roles_and_teams(
        staff_client: tuple[httpx.AsyncClient, Gateway]) -> None:
    client, _ = staff_client
    resp = await client.get("/api/v1/staff", params=Q)
    assert resp.status_code == 200
    assert [(s["id"], s["teams"]) for s in resp.json()] == [
        ("s-anna", ["norr"]), ("s-bo", ["syd"]), ("s-cleo", ["syd"])]
