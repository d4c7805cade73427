"""Console sign-in (auth.mode local): accounts, the session cookie, CSRF, sign-out, expiry.

A person signs in with a form and gets a session cookie; the cookie then
authenticates the console's ``/api/v1`` calls, and every change made with it
must carry the session's CSRF token. Machines keep using bearer tokens, side
by side. Runs in-process against the real app (httpx ASGITransport).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway import FakeClock
from gateway.api import create_app
from gateway.cli import main
from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker

from .conftest import CARE, T0, frame, later


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        auth={"mode": "local", "session_ttl_s": 3600},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"},
                  {"adapter": "zigbee2mqtt", "tenant": "orebro",
                   "settings": {"base_topic": "z2m-orebro"}}],
        care_config=[care],
    )


@pytest.fixture
def settings_file(api_settings: Settings, tmp_path: Path) -> str:
    path = tmp_path / "navet.yaml"
    path.write_text(json.dumps({"data_dir": str(tmp_path), "auth": {"mode": "local"}}))
    return str(path)


@pytest.fixture
def users(settings_file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two accounts made the way an administrator makes them: ``navet users add``."""
    import io

    for subject, role, tenant in (("anna", "operator", "vasteras"), ("olle", "operator",
                                                                     "orebro")):
        monkeypatch.setattr("sys.stdin", io.StringIO("hemligt-1\n"))
        assert main(["users", "add", subject, "--name", subject.title(), "--role", role,
                     "--tenant", tenant, "--password-stdin", "--config", settings_file]) == 0


@pytest.fixture
async def app(api_settings: Settings, clock: FakeClock, broker: MemoryBroker,
              users: None) -> AsyncIterator[FastAPI]:
    gw = Gateway(api_settings, clock=clock, mqtt=broker.client("navet"))
    application = create_app(gateway=gw)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://navet") as c:
        yield c


async def sign_in(client: httpx.AsyncClient, user: str = "anna",
                  password: str = "hemligt-1", next: str = "") -> httpx.Response:
    form = await client.get("/signin")
    assert form.status_code == 200
    token = re.search(r'name="form" value="([^"]+)"', form.text)
    assert token is not None
    return await client.post("/signin", data={"form": token[1], "user": user,
                                              "password": password, "next": next})


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found is not None, page[:500]
    return found[1]


async def test_root_leads_to_sign_in_then_to_the_operators_alarm_queue(
        browser: httpx.AsyncClient) -> None:
    first = await browser.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/signin"
    page = await browser.get("/signin")
    assert '<html lang="sv">' in page.text and "Logga in" in page.text  # Swedish by default
    done = await sign_in(browser)
    assert done.status_code == 303 and done.headers["location"] == "/console/alarms"
    cookie = done.headers["set-cookie"]
    assert "navet_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http here; https gets Secure (below)
    queue = await browser.get("/console/alarms")
    assert queue.status_code == 200 and "Larmkö" in queue.text and "Anna" in queue.text
    assert "default-src 'self'" in queue.headers["content-security-policy"]
    # /docs stays reachable without anyone signed in
    async with httpx.AsyncClient(transport=browser._transport, base_url="http://navet") as anon:
        assert (await anon.get("/docs")).status_code == 200


async def test_cookie_is_secure_over_https(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://navet") as c:
        done = await sign_in(c)
    assert "Secure" in done.headers["set-cookie"]


async def test_wrong_password_and_unknown_user_are_refused_the_same_way(
        browser: httpx.AsyncClient) -> None:
    wrong = await sign_in(browser, password="fel")
    nobody = await sign_in(browser, user="nobody")
    assert wrong.status_code == nobody.status_code == 401
    assert "Fel användarnamn eller lösenord" in wrong.text
    assert "navet_session" not in wrong.headers.get("set-cookie", "")


async def test_sign_in_form_needs_its_own_cookie(browser: httpx.AsyncClient) -> None:
    """Another site cannot post a sign-in form into this browser (login CSRF)."""
    forged = await browser.post("/signin", data={"form": "x", "user": "anna",
                                                 "password": "hemligt-1"})
    assert forged.status_code == 400
    assert "navet_session" not in forged.headers.get("set-cookie", "")


async def test_session_authenticates_api_reads_and_writes_need_csrf(
        browser: httpx.AsyncClient, app: FastAPI) -> None:
    gw: Gateway = app.state.gateway
    await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 12}, later(10)))
    assert (await browser.get("/api/v1/alarms", params={"tenant": "vasteras"})).status_code == 401
    await sign_in(browser)
    alarms = await browser.get("/api/v1/alarms", params={"tenant": "vasteras"})
    assert alarms.status_code == 200
    alarm = alarms.json()["items"][0]["id"]
    # another tenant's data: no
    assert (await browser.get("/api/v1/alarms", params={"tenant": "orebro"})).status_code == 403
    # a write with the cookie but without the CSRF token: refused, nothing stored
    url = f"/api/v1/alarms/{alarm}/acknowledge"
    bare = await browser.post(url, params={"tenant": "vasteras"})
    assert bare.status_code == 403 and "CSRF" in bare.json()["detail"]
    wrong = await browser.post(url, params={"tenant": "vasteras"},
                               headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    csrf = csrf_of((await browser.get("/console/alarms")).text)
    ok = await browser.post(url, params={"tenant": "vasteras"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert ok.json()["event"]["data"]["by"]["id"] == "anna"  # recorded under the user's name


async def test_bearer_tokens_keep_working_beside_sessions(
        browser: httpx.AsyncClient, api_settings: Settings) -> None:
    await sign_in(browser)
    token = issue_token(LocalKeys(api_settings.data_dir / "keys"), subject="machine-1",
                        tenants=["orebro"], roles=["operator"])
    # the bearer token decides when present (no CSRF: no cookie authenticated the call)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await browser.get("/api/v1/alarms", params={"tenant": "orebro"},
                              headers=headers)).status_code == 200
    assert (await browser.get("/api/v1/alarms", params={"tenant": "vasteras"},
                              headers=headers)).status_code == 403
    assert (await browser.get("/api/v1/alarms",
                              params={"tenant": "vasteras"})).status_code == 200


async def test_sign_out_ends_the_session_everywhere(browser: httpx.AsyncClient) -> None:
    await sign_in(browser)
    stolen = browser.cookies.get("navet_session")
    csrf = csrf_of((await browser.get("/console/alarms")).text)
    forged = await browser.post("/signout", data={"csrf": "x"})
    assert forged.status_code == 403
    out = await browser.post("/signout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/signin?why=signed_out"
    # the old cookie, replayed, opens nothing: the session row is gone
    assert stolen
    replay = {"Cookie": f"navet_session={stolen}"}
    again = await browser.get("/api/v1/alarms", params={"tenant": "vasteras"}, headers=replay)
    assert again.status_code == 401 and "ended" in again.json()["detail"]
    page = await browser.get("/console/alarms", headers=replay)
    assert page.status_code == 303 and "why=expired" in page.headers["location"]


async def test_session_expires(browser: httpx.AsyncClient, clock: FakeClock) -> None:
    await sign_in(browser)
    assert (await browser.get("/api/v1/alarms", params={"tenant": "vasteras"})).status_code == 200
    await clock.advance(3601)
    assert (await browser.get("/api/v1/alarms", params={"tenant": "vasteras"})).status_code == 401
    page = await browser.get("/live")
    assert page.status_code == 303 and page.headers["location"].startswith("/signin?next=%2Flive")


async def test_disabling_a_user_ends_their_sessions(browser: httpx.AsyncClient,
                                                   settings_file: str) -> None:
    import asyncio

    await sign_in(browser)
    # the command runs beside the gateway, as an administrator's shell would
    assert await asyncio.to_thread(main, ["users", "disable", "anna", "--config",
                                          settings_file]) == 0
    assert (await browser.get("/api/v1/alarms", params={"tenant": "vasteras"})).status_code == 401
    assert (await sign_in(browser)).status_code == 401


async def test_next_is_followed_only_within_the_site(browser: httpx.AsyncClient) -> None:
    assert (await sign_in(browser, next="/live")).headers["location"] == "/live"
    await browser.post("/signout", data={"csrf": csrf_of(
        (await browser.get("/console/home")).text)})
    assert (await sign_in(browser, next="//evil.example/x")).headers["location"] == \
        "/console/alarms"


async def test_language_choice_is_remembered(browser: httpx.AsyncClient) -> None:
    sv = await browser.get("/signin", headers={"Accept-Language": "en-GB,en"})
    assert "Logga in" in sv.text  # the browser's language does not decide
    chosen = await browser.post("/language", data={"lang": "en", "next": "/signin"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/signin"
    en = await browser.get("/signin")
    assert '<html lang="en">' in en.text and "Sign in" in en.text


def test_users_cli_lists_and_refuses_bad_input(settings_file: str, users: Any,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    assert main(["users", "list", "--json", "--config", settings_file]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [u["subject"] for u in listed] == ["anna", "olle"]
    assert listed[0] == {"subject": "anna", "name": "Anna", "roles": ["operator"],
                         "tenants": ["vasteras"], "disabled": False}
    monkeypatch.setattr("sys.stdin", io.StringIO("another-1\n"))
    assert main(["users", "add", "anna", "--role", "operator", "--tenant", "vasteras",
                 "--password-stdin", "--config", settings_file]) == 1
    assert "exists already" in capsys.readouterr().err
    # what is stored, read as anyone with the database reads it (SQLite or PostgreSQL)
    from gateway.core.settings import load_settings
    from gateway.core.store import make_store

    loaded = load_settings(settings_file)
    store = make_store(loaded.database if loaded.database_is_url else loaded.database_path)
    store.open()
    conn = store.connect()
    try:
        stored = [tuple(r) for r in conn.execute("SELECT password FROM users")]
    finally:
        conn.close()
        store.close()
    assert len(stored) == 2
    assert all(row[0].startswith("$argon2id$") for row in stored)
    assert T0  # the fixtures' clock starts here


async def test_a_websocket_with_the_cookie_must_come_from_the_console(
        users: None, server: str) -> None:
    """Browsers send cookies with a WebSocket opened by any site (no SameSite help for
    ws:// on one site's ports): only the console's own origin may use the session."""
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    async with httpx.AsyncClient(base_url=server) as client:
        await sign_in(client)
        cookie = f"navet_session={client.cookies.get('navet_session')}"
    ws_url = server.replace("http://", "ws://") + "/api/v1/stream/ws?tenant=vasteras"
    refused = False
    try:
        async with connect(ws_url, open_timeout=5, origin="http://evil.example",  # type: ignore[arg-type]
                           additional_headers={"Cookie": cookie}) as ws:
            await asyncio.wait_for(ws.recv(), 5)
    except (ConnectionClosed, InvalidStatus) as err:
        refused = True
        code = getattr(getattr(err, "rcvd", None), "code", None)
        status = getattr(getattr(err, "response", None), "status_code", None)
        assert code == 1008 or status == 403, err
    assert refused
    async with connect(ws_url, open_timeout=5, origin=server,  # type: ignore[arg-type]
                       additional_headers={"Cookie": cookie}):
        pass


async def test_sign_in_and_out_are_audited(browser: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(browser, password="fel")
    await sign_in(browser)
    csrf = csrf_of((await browser.get("/console/home")).text)
    await browser.post("/signout", data={"csrf": csrf})
    gw: Gateway = app.state.gateway
    rows = await gw.store.read(lambda conn: conn.execute(
        "SELECT actor, action, decision, tenant FROM audit_log WHERE action LIKE 'sign-%' "
        "ORDER BY seq").fetchall())
    assert [tuple(r) for r in rows] == [
        ("anna", "sign-in", "refused", "vasteras"), ("anna", "sign-in", "done", "vasteras"),
        ("anna", "sign-out", "done", "vasteras")]
