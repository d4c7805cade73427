"""The follow-up screen in a real browser (Debian chromium driven by Playwright), axe-core
clean, keyboard-operable; the indicators' CSV is downloaded by clicking its link, as a
person would, and must say what the screen says; the screenshot goes to docs/console.md's
set.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.accounts import add_user, hash_password
from gateway.core.gateway import Gateway
from gateway.core.security.tokens import LocalKeys, issue_token
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from tests.followup import month
from tests.services import chromium, free_port, unavailable

pytestmark = pytest.mark.chromium

ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = "4.10.3"
AXE_DIR = ROOT / ".cache" / "axe"
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("NAVET_SCREENSHOTS") or ROOT / ".cache" / "screenshots")
"""Where the screen's picture goes; ``python3 -m tests.screenshots`` copies it to docs."""
PASSWORD = "demo-pass"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # not the main thread: no signals
        yield


@pytest.fixture
def axe() -> str:
    """axe-core's script, installed from npm into .cache/axe on first use."""
    if not AXE_FILE.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("axe-core", "install Node.js and npm (the test installs axe-core)")
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                        str(AXE_DIR), f"axe-core@{AXE_VERSION}"], check=True,
                       capture_output=True, timeout=300)
    return str(AXE_FILE)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, an analyst's token) of a gateway holding the simulated month; the same
    analyst (``ana-1``) may also sign in with a password."""
    care = tmp_path / "care.json"
    care.write_text(json.dumps(month.CARE), encoding="utf-8")
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                        care_config=[care])
    clock = FakeClock(month.local(2, 9, month=4))
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    port = free_port()
    server = _Server(uvicorn.Config(create_app(gateway=gw), host="127.0.0.1", port=port,
                                    lifespan="on", log_level="warning",
                                    timeout_graceful_shutdown=2))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                              name="navet-uvicorn", daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(200):  # bounded: 10 s
        if server.started or not thread.is_alive():
            break
        ready.wait(0.05)
    assert server.started, "uvicorn did not start"

    async def seed() -> None:
        events = [e for e in month.events() if e.type != "medication.dose_missed"]
        for start in range(0, len(events), 200):
            await gw.store.append(events[start:start + 200])

    asyncio.run_coroutine_threadsafe(seed(), loop).result(30)
    token = issue_token(LocalKeys(tmp_path / "keys"), subject="ana-1", tenants=["vasteras"],
                        roles=["analyst"], ttl_s=3600, issuer="navet", audience="navet-api")
    asyncio.run_coroutine_threadsafe(gw.store.write(lambda conn: add_user(
        conn, subject="ana-1", name="Ulla Uppföljning", roles=["analyst"],
        tenants=["vasteras"], password_hash=hash_password(PASSWORD), now=clock.now())),
        loop).result(10)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"
        loop.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_follow_up_screen_shows_lights_and_radars_exports_csv_and_passes_axe(
        served: tuple[str, str], browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    url, token = served
    # a machine with a token reads the screen too (the page forwards its credentials)
    machine = httpx.get(f"{url}/console/uppfoljning?tenant=vasteras", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    assert machine.status_code == 200 and "Uppföljning" in machine.text
    # a person signs in (the session cookie also goes with the CSV downloads, which a
    # header set by a script would not); the browser asks for English, Navet stays Swedish
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(url) else outside.append(req.url))
    page.goto(f"{url}/console/uppfoljning?tenant=vasteras&from=2026-03-01&to=2026-03-31")
    page.fill("#user", "ana-1")
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url("**/console/uppfoljning?tenant=vasteras&from=2026-03-01&to=2026-03-31")
    # Swedish, whatever the browser's locale
    expect(page.locator("h1")).to_have_text("Uppföljning \u2013 Västerås stad")
    gps = page.locator('tr[data-indicator="skr.gps_share_80_ordinary"]')
    expect(gps).to_contain_text("1,8 %")
    expect(gps).to_contain_text("Gul: nästan där")
    expect(page.locator('tr[data-indicator="skr.night_supervision_growth"]')).to_contain_text(
        "Grön: målet nått")
    expect(page.locator("svg.radar")).to_have_count(6)
    expect(page.locator("section", has_text="Larmhantering per månad")).to_contain_text(
        "2026-03")

    page.evaluate(Path(axe).read_text(encoding="utf-8"))
    found = page.evaluate("async () => await axe.run(document)")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
           for v in found["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"axe-core on the follow-up screen: {bad}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "uppfoljning.png"), full_page=True)

    # keyboard: skip link first, then the filters; English chosen, the form sent by Enter
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.locator('select[name="lang"]').focus()
    page.locator('select[name="lang"]').select_option("en")
    page.keyboard.press("Tab")
    expect(page.locator('form.filters button[type="submit"]')).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url("**lang=en**")
    expect(page.locator("h1")).to_have_text("Follow-up \u2013 Västerås stad")
    expect(page.locator('tr[data-indicator="skr.gps_share_80_ordinary"]')).to_contain_text(
        "Yellow: almost there")

    # the CSV as a person gets it: click the link, the browser downloads a file
    with page.expect_download() as got:
        page.get_by_role("link", name="Indicators (CSV)").click()
    download = got.value
    assert download.failure() is None
    assert download.suggested_filename == "navet-indikatorer-vasteras.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {"id", "label", "value", "unit", "target", "status"} <= set(rows[0])
    by_id = {r["id"]: r for r in rows}
    assert by_id["skr.gps_share_80_ordinary"]["value"] == "1.8"
    assert by_id["skr.gps_share_80_ordinary"]["status"] == "yellow"
    assert by_id["skr.night_supervision_growth"]["status"] == "green"
    # the file says what the screen says: every indicator with its status, in English
    shown = page.locator("tr[data-indicator]")
    on_screen = {shown.nth(i).get_attribute("data-indicator"): shown.nth(i).get_attribute(
        "data-status") for i in range(shown.count())}
    assert on_screen == {r["id"]: r["status"] for r in rows}
    gps_label = page.locator('tr[data-indicator="skr.gps_share_80_ordinary"] th').evaluate(
        "th => th.firstChild.textContent")
    assert by_id["skr.gps_share_80_ordinary"]["label"] == gps_label
    # the survey's rows download too, for the period's last day
    with page.expect_download() as got:
        page.get_by_role("link", name="Rows for Socialstyrelsen's survey (CSV)").click()
    survey = list(csv.DictReader(io.StringIO(
        Path(got.value.path()).read_text(encoding="utf-8-sig"))))
    assert survey and got.value.suggested_filename == "navet-enkat-vasteras.csv"
    assert outside == [], f"the page fetched from elsewhere: {outside}"
    assert errors == []
    context.close()
