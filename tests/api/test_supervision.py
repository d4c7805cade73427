"""Staff API for camera checks: start (URL or 403 with the reason), end, observe, list mine."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.transports.memory import MemoryBroker
from simulators.cameras_mqtt import VaktarenUnits
from tests.plugins.cameras.helpers import MAX_S, T0, TENANT, events, settle, tick, vaktaren_gateway

API = "/api/v1/supervision/checks"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def night(tmp_path: Path, clock: FakeClock, broker: MemoryBroker
                ) -> AsyncIterator[tuple[Gateway, VaktarenUnits, httpx.AsyncClient]]:
    async with vaktaren_gateway(tmp_path, clock, broker) as (gw, units):
        app = create_app(gateway=gw)
        app.state.gateway = gw  # the gateway is started by the fixture, not the lifespan
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://navet") as client:
            yield gw, units, client


def as_staff(staff: str) -> dict[str, Any]:
    return {"headers": {"x-navet-actor": staff}, "params": {"tenant": TENANT}}


async def test_start_returns_a_short_lived_viewing_url_not_to_be_cached(
        night: tuple[Gateway, VaktarenUnits, httpx.AsyncClient],
        caplog: pytest.LogCaptureFixture) -> None:
    gw, units, client = night
    caplog.set_level(logging.DEBUG)
    resp = await client.post(API, json={"resident": "r-1"}, **as_staff("natt-1"))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["view_url"].startswith("https://relay.vaktaren.example/v/cam-1?t=")
    assert body["device"] == "vaktaren:cam-1" and body["max_session_s"] == MAX_S
    assert resp.headers["cache-control"] == "no-store"
    assert units.units["cam-1"].session is not None
    token = body["view_url"].split("?t=", 1)[1]
    assert "check sv-" in caplog.text and token not in caplog.text  # logged, but never the token
    await client.post(f"{API}/{body['session']}/end", **as_staff("natt-1"))
    await settle(gw)
    stored = gw.store.read_sync(lambda conn: [
        *(r[0] for r in conn.execute("SELECT body FROM events")),
        *(r[0] for r in conn.execute("SELECT detail || reason FROM audit_log")),
        *(bytes(r[0]).decode() for r in conn.execute("SELECT payload FROM frames"))])
    assert stored and not any(token in row for row in stored)


@pytest.mark.parametrize(("staff", "resident", "code"), [
    ("natt-1", "r-3", "cohabitant_consent_missing"),
    ("natt-1", "r-4", "consent_expired"),
    ("natt-1", "r-5", "consent_withdrawn"),
    ("dag-1", "r-1", "wrong_role"),
    ("someone", "r-1", "unknown_staff"),
])
async def test_a_refusal_is_403_with_its_code_and_reason(
        night: tuple[Gateway, VaktarenUnits, httpx.AsyncClient], staff: str, resident: str,
        code: str) -> None:
    gw, _, client = night
    resp = await client.post(API, json={"resident": resident}, **as_staff(staff))
    assert resp.status_code == 403
    detail = resp.json()["detail"]
    assert detail["code"] == code and detail["reason"]
    await settle(gw)
    [event] = events(gw, "supervision.refused")
    assert event.id == detail["event"] and event.data.code == code


async def test_refused_outside_the_window(
        night: tuple[Gateway, VaktarenUnits, httpx.AsyncClient], clock: FakeClock) -> None:
    _, _, client = night
    await clock.advance(10 * 3600)  # 08:30 local
    resp = await client.post(API, json={"resident": "r-1"}, **as_staff("natt-1"))
    assert resp.status_code == 403 and resp.json()["detail"]["code"] == "outside_window"


async def test_who_calls_is_required_and_the_body_is_checked(
        night: tuple[Gateway, VaktarenUnits, httpx.AsyncClient]) -> None:
    _, _, client = night
    anonymous = await client.post(API, json={"resident": "r-1"}, params={"tenant": TENANT})
    assert anonymous.status_code == 401
    bad = await client.post(API, json={"resident": "19121212-1212 Tolvan"}, **as_staff("natt-1"))
    assert bad.status_code == 422  # residents are pseudonyms, never personal numbers
    unknown_tenant = await client.post(API, json={"resident": "r-1"},
                                       headers={"x-navet-actor": "natt-1"},
                                       params={"tenant": "nowhere"})
    assert unknown_tenant.status_code == 404


async def test_end_observe_and_list_my_checks_tonight(
        night: tuple[Gateway, VaktarenUnits, httpx.AsyncClient], clock: FakeClock) -> None:
    gw, units, client = night
    started = (await client.post(API, json={"resident": "r-1"}, **as_staff("natt-1"))).json()
    session = started["session"]
    await clock.advance(12)
    obs = await client.post(f"{API}/{session}/observations",
                            json={"finding": "needs_alarm", "note": "på golvet"},
                            **as_staff("natt-1"))
    assert obs.status_code == 201, obs.text
    assert obs.json()["alarm"] and obs.json()["visit_request"] is None
    other = await client.post(f"{API}/{session}/end", **as_staff("natt-2"))
    assert other.status_code == 404  # only one's own check
    ended = await client.post(f"{API}/{session}/end", **as_staff("natt-1"))
    assert ended.status_code == 200
    assert (ended.json()["duration_s"], ended.json()["reason"]) == (12, "stopped")
    again = await client.post(f"{API}/{session}/end", **as_staff("natt-1"))
    assert again.status_code == 404
    await client.post(API, json={"resident": "r-5"}, **as_staff("natt-1"))  # refused
    await settle(gw)
    [alarm] = events(gw, "alarm.raised")
    assert alarm.id == obs.json()["alarm"] and alarm.resident == "r-1"
    assert units.units["cam-1"].session is None
    mine = (await client.get(f"{API}/mine", **as_staff("natt-1"))).json()["checks"]
    assert [(c["resident"], c["status"]) for c in mine] == [("r-1", "ended"), ("r-5", "refused")]
    assert mine[0]["findings"] == ["needs_alarm"] and mine[0]["duration_s"] == 12
    assert mine[1]["code"] == "consent_withdrawn"
    assert "view_url" not in str(mine) and "?t=" not in str(mine)
    theirs = (await client.get(f"{API}/mine", **as_staff("natt-2"))).json()["checks"]
    assert theirs == []


async def test_a_check_nobody_ends_is_ended_by_navet(
        night: tuple[Gateway, VaktarenUnits, httpx.AsyncClient], clock: FakeClock) -> None:
    gw, units, client = night
    started = (await client.post(API, json={"resident": "r-2"}, **as_staff("natt-1"))).json()
    await tick(clock, MAX_S + 1, gw=gw)
    await settle(gw)
    mine = (await client.get(f"{API}/mine", **as_staff("natt-1"))).json()["checks"]
    assert mine[0]["session"] == started["session"] and mine[0]["status"] == "ended"
    assert mine[0]["duration_s"] == MAX_S and mine[0]["end_reason"] in ("max_length",)
    late = await client.post(f"{API}/{started['session']}/observations",
                             json={"finding": "needs_visit"}, **as_staff("natt-1"))
    assert late.status_code == 201 and late.json()["visit_request"]
