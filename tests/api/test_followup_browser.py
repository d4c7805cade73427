"""The follow-up screen in a real browser (Debian chromium driven by Playwright), axe-core
clean, keyboard-operable, CSV downloadable; the screenshot goes to docs/console.md's set.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway import FakeClock
from gateway.api import create_app
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
SHOTS = ROOT / ".cache" / "screenshots"


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
    """(base URL, an analyst's token) of a gateway holding the simulated month."""
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
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  extra_http_headers={"Authorization": f"Bearer {token}"},
                                  locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    outside: list[str] = []
    page.on("request", lambda req: None if req.url.startswith(url) else outside.append(req.url))
    page.goto(f"{url}/console/uppfoljning?tenant=vasteras&from=2026-03-01&to=2026-03-31")
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

    href = page.get_by_role("link", name="Indicators (CSV)").get_attribute("href")
    assert href is not None
    got = context.request.get(f"{url}{href}")  # what the link downloads, with the same token
    assert got.ok and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text())))
    by_id = {r["id"]: r for r in rows}
    assert by_id["skr.gps_share_80_ordinary"]["value"] == "1.8"
    assert by_id["skr.gps_share_80_ordinary"]["status"] == "yellow"
    assert outside == [], f"the page fetched from elsewhere: {outside}"
    assert errors == []
    context.close()
