"""The live view in a real browser (Debian chromium driven by Playwright).

uvicorn serves the app from its own thread and event loop, like ``navet
serve``; the test ingests frames on that loop and watches the page update
through its EventSource, the way an alarm-centre operator would see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn

from gateway import FakeClock, RawFrame
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from tests.services import free_port, require_binary, unavailable

from .conftest import frame, later

pytestmark = pytest.mark.chromium

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOT = "/tmp/navet-live-view.png"
WAIT_MS = 10_000


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # not the main thread: no signals
        yield


@dataclass
class Running:
    url: str
    gateway: Gateway
    loop: asyncio.AbstractEventLoop

    def ingest(self, raw: RawFrame) -> Any:
        """Ingest on the server's loop (the store and notifier live there)."""
        return asyncio.run_coroutine_threadsafe(self.gateway.ingest(raw), self.loop).result(10)


@pytest.fixture
def live(api_settings: Settings) -> Iterator[Running]:
    gw = Gateway(api_settings, clock=FakeClock(later(3600)), mqtt=MemoryBroker().client("navet"))
    port = free_port()
    server = _Server(uvicorn.Config(
        create_app(gateway=gw), host="127.0.0.1", port=port, lifespan="on",
        log_level="warning", timeout_graceful_shutdown=2,
    ))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                              name="navet-uvicorn", daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(200):  # bounded: 10 s
        if server.started or not thread.is_alive():
            started.set()
            break
        started.wait(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield Running(f"http://127.0.0.1:{port}", gw, loop)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"
        loop.close()


@pytest.fixture
def page() -> Iterator[Any]:
    chromium = require_binary("chromium", "apt-get install chromium", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright", "pip install playwright")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            pg = browser.new_page(viewport={"width": 1400, "height": 820})
            pg.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            pg.on("pageerror", lambda err: errors.append(str(err)))
            yield pg
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def test_events_appear_live_with_alarms_highlighted_counters_devices_dead_letters(
    live: Running, page: Any
) -> None:
    from playwright.sync_api import expect

    live.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 12}, later(10)))
    live.ingest(frame("vasteras", "door", b'{"contact": "open"}', later(11)))
    live.ingest(frame("orebro", "hall", {"contact": True}, later(12)))

    # the page in English, as a person who picked English sees it (Swedish is the default)
    page.context.add_cookies([{"name": "navet_lang", "value": "en", "url": live.url}])
    page.goto(f"{live.url}/live?tenant=vasteras")
    expect(page.locator("#status")).to_have_text("live")
    # auth.mode is off in this fixture: the operator is told, in a banner they cannot miss
    expect(page.locator("#open-api")).to_be_visible()
    expect(page.locator("#open-api")).to_contain_text("The API is open")
    rows = page.locator("#events tbody tr")
    # sensor + battery, and the technical alarm Navet's rules raise for the low battery;
    # heartbeats are not listed.
    expect(rows).to_have_count(3)
    alarm = page.locator("#events tbody tr.alarm")
    expect(alarm).to_have_count(1)
    expect(alarm).to_contain_text("alarm.raised")
    expect(alarm).to_contain_text("technical.low_battery \u2013 battery low (12 %)")
    expect(page.locator("#dead-letters")).to_contain_text("contact must be true or false")
    expect(page.locator("#devices")).to_contain_text("zigbee2mqtt:bedBedroom")
    expect(page.locator("#devices")).not_to_contain_text("zigbee2mqtt:hall")

    # A new event arrives while the operator watches: it is on top, without reload.
    live.ingest(frame("vasteras", "door", {"contact": False, "tamper": True}, later(20)))
    expect(rows).to_have_count(5)
    top = rows.nth(0)
    expect(top).to_contain_text("device.tamper")
    expect(top).to_contain_text("tamper: cover opened")
    expect(top).to_contain_text("r-2")
    expect(top).to_contain_text("zigbee2mqtt:door")
    expect(top).to_have_class("warn new")
    expect(rows.nth(1)).to_contain_text("contact=false")
    expect(page.locator('.counter[data-type="sensor.reported"] b')).to_have_text("2")
    expect(page.locator('.counter[data-type="device.tamper"] b')).to_have_text("1")
    expect(page.locator("#events")).not_to_contain_text("zigbee2mqtt:hall")
    door = page.locator("#devices tr", has_text="zigbee2mqtt:door")
    expect(door).to_contain_text("00:00:20")  # last seen follows the stream
    page.screenshot(path=SCREENSHOT, full_page=True)

    # Switching tenant shows only the other tenant's events.
    page.select_option("#tenant", "orebro")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("zigbee2mqtt:hall")
