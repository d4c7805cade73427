"""Signing in to the console through an identity provider (``auth.mode: oidc``).

The provider is real and runs as its own process: panva's certified
``oidc-provider`` from npm (pinned below; it runs on Debian's Node.js 20),
installed into ``.cache/oidc`` on first use and started by ``oidc/provider.mjs``
with one public client that must use PKCE (S256). A real browser signs in: the
console sends it to the provider, the provider's login form sends it back with a
code, Navet exchanges the code with its verifier, verifies the ID token against
the provider's JWKS, checks state and nonce, and takes roles and tenants from
the configured claims.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from tests.services import free_port, require_binary, unavailable

from .conftest import later
from .test_console_browser import CARE, _Server, browser  # noqa: F401  # the browser fixture

pytestmark = pytest.mark.chromium

ROOT = Path(__file__).resolve().parents[2]
OIDC_PROVIDER_VERSION = "8.8.1"
MODULES = ROOT / ".cache" / "oidc" / "node_modules"
PROVIDER_JS = Path(__file__).parent / "oidc" / "provider.mjs"
CLIENT_ID = "navet-console"


def _install() -> str:
    node = require_binary("node", "apt-get install nodejs npm (the test installs "
                          f"oidc-provider@{OIDC_PROVIDER_VERSION} itself)")
    if not (MODULES / "oidc-provider" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm", "apt-get install npm")
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                        str(MODULES.parent), f"oidc-provider@{OIDC_PROVIDER_VERSION}"],
                       check=True, capture_output=True, timeout=600)
    installed = json.loads((MODULES / "oidc-provider" / "package.json").read_text())
    assert installed["version"] == OIDC_PROVIDER_VERSION
    return node


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """``(issuer, navet_port)``: the provider runs, knowing where Navet will listen."""
    node = _install()
    port, navet_port = free_port(), free_port()
    log = (tmp_path / "oidc-provider.log").open("wb")
    proc = subprocess.Popen(
        [node, str(PROVIDER_JS), str(port),
         f"http://127.0.0.1:{navet_port}/signin/oidc/callback"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OIDC_MODULES": str(MODULES)})
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "oidc-provider.log").read_text()
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration",
                             timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("oidc-provider did not start")
        yield issuer, navet_port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def navet(provider: tuple[str, int], tmp_path: Path) -> Iterator[str]:
    issuer, port = provider
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        outbound={"allow_loopback": True},  # the provider runs on this machine
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
        auth={"mode": "oidc", "issuer": issuer, "jwks_url": f"{issuer}/jwks",
              "audience": "navet-api", "algorithms": ["RS256"], "client_id": CLIENT_ID,
              "scopes": ["openid", "profile", "navet"]})
    gw = Gateway(settings, clock=FakeClock(later(3600)), mqtt=MemoryBroker().client("navet"))
    server = _Server(uvicorn.Config(create_app(gateway=gw), host="127.0.0.1", port=port,
                                    lifespan="on", log_level="warning",
                                    timeout_graceful_shutdown=2))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                              daemon=True)
    thread.start()
    for _ in range(200):
        if server.started or not thread.is_alive():
            break
        time.sleep(0.05)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        loop.close()


def _sign_in_at_provider(page: Any, url: str, login: str) -> None:
    page.goto(f"{url}/")
    page.click("#signin-oidc")
    page.wait_for_selector("input[name=login]")
    assert page.url.startswith("http://127.0.0.1:") and "/interaction/" in page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "whatever")  # the provider's development form
    page.click("button[type=submit]")


def test_operator_signs_in_with_the_identity_provider(navet: str, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page()
    page.set_default_timeout(10_000)
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    _sign_in_at_provider(page, navet, "anna.operator")
    page.wait_for_url(f"{navet}/console/alarms")
    expect(page.locator("h1")).to_have_text("Larmkö")
    expect(page.locator("#who")).to_contain_text("Anna Operatör")  # the name claim
    expect(page.locator("#status")).to_have_text("Live")  # the cookie opens the API
    auth = next(u for u in seen if "/auth?" in u)
    assert "code_challenge_method=S256" in auth and "nonce=" in auth and "state=" in auth
    # signing out ends Navet's session
    page.click("#signout")
    expect(page).to_have_url(f"{navet}/signin?why=signed_out")
    page.goto(f"{navet}/console/alarms")
    expect(page).to_have_url(f"{navet}/signin?next=%2Fconsole%2Falarms")


def test_an_account_without_a_navet_role_is_refused(navet: str, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page()
    page.set_default_timeout(10_000)
    _sign_in_at_provider(page, navet, "no.roles")
    expect(page.locator("#error")).to_contain_text("Ditt konto har ingen roll")
    assert "navet_session" not in {c["name"] for c in page.context.cookies()}


def test_a_callback_this_browser_did_not_begin_is_refused(navet: str) -> None:
    with httpx.Client(base_url=navet, trust_env=False) as client:
        answer = client.get("/signin/oidc/callback", params={"state": "forged", "code": "x"})
        assert answer.status_code == 400
        assert "navet_session" not in answer.headers.get("set-cookie", "")
        started = client.get("/signin/oidc")
        assert started.status_code == 303
        # the right cookie but a replayed or unknown state: still refused
        replay = client.get("/signin/oidc/callback", params={"state": "other", "code": "x"})
        assert replay.status_code == 400
