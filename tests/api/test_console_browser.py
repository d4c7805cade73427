"""The operator's console in a real browser (Debian chromium driven by Playwright).

An operator signs in, sees a simulated fall sensor's alarm arrive in the queue
(sound and visual cue), acknowledges it with the keyboard alone, dispatches a
staff member; a stale action shows what happened instead; sign-out ends the
session; the language choice is remembered. axe-core (npm, injected from a
file) must find no serious or critical violation on the sign-in page or the
queue. The gateway runs under uvicorn with ``auth.mode: local``, as in
production.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway import Actor, FakeClock
from gateway.api import create_app
from gateway.core.accounts import add_user, hash_password
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators.zigbee2mqtt import Zigbee2MqttFlat
from tests.services import chromium, free_port, unavailable

from .conftest import later

pytestmark = pytest.mark.chromium

ROOT = Path(__file__).resolve().parents[2]
AXE_VERSION = "4.10.3"
AXE_DIR = ROOT / ".cache" / "axe"
AXE_FILE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("NAVET_SCREENSHOTS") or ROOT / ".cache" / "screenshots")
"""Where the screens' pictures go; ``NAVET_SCREENSHOTS=docs/console`` renews docs/console.md's."""
WAIT_MS = 10_000
PASSWORD = "demo-pass"

CARE = {"tenants": [{
    "id": "vasteras", "name": "Västerås stad",
    "alarms": {"receivers": ["larmcentral", "hemtjanst-natt"]},
    "residents": [{"id": "r-1", "label": "Lgh 1102", "home": {"text": "Storgatan 1, lgh 1102"}}],
    "devices": [{"adapter": "zigbee2mqtt", "address": "r1_fall", "kind": "passive_sensor",
                 "resident": "r-1", "location": "Badrum"},
                {"adapter": "zigbee2mqtt", "address": "r1_leak", "kind": "passive_sensor",
                 "resident": "r-1", "location": "Kök"}],
    "staff": [{"id": "hanna", "label": "Hanna, hemtjänst norr", "teams": ["norr"]}],
    "plans": [{"id": "p-1", "resident": "r-1",
               "medication": {"receivers": ["hemtjanst-norr", "larmcentral"]}}],
}]}


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # not the main thread: no signals
        yield


@dataclass
class Running:
    url: str
    gateway: Gateway
    loop: asyncio.AbstractEventLoop
    flat: Zigbee2MqttFlat

    def run(self, coro: Any) -> Any:
        """Run on the server's loop (the store, notifier and broker live there)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def fall(self) -> None:
        self.run(self.flat.report("fall", fall=True))

    def leak(self) -> None:
        self.run(self.flat.report("leak", water_leak=True))


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
def live(tmp_path: Path) -> Iterator[Running]:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
                        care_config=[care])
    clock = FakeClock(later(3600))
    broker = MemoryBroker()
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    port = free_port()
    server = _Server(uvicorn.Config(
        create_app(gateway=gw), host="127.0.0.1", port=port, lifespan="on",
        log_level="warning", timeout_graceful_shutdown=2,
    ))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),),
                              name="navet-uvicorn", daemon=True)
    thread.start()
    for _ in range(200):  # bounded: 10 s
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    running = Running(f"http://127.0.0.1:{port}", gw, loop, None)  # type: ignore[arg-type]
    digest = hash_password(PASSWORD)
    for subject, name, role in (("anna", "Anna Operatör", "operator"),
                                ("bertil", "Bertil Operatör", "operator"),
                                ("hanna", "Hanna Hemtjänst", "staff"),
                                ("ulla", "Ulla Uppföljning", "analyst")):
        running.run(gw.store.write(lambda conn, s=subject, n=name, r=role: add_user(
            conn, subject=s, name=n, roles=[r], tenants=["vasteras"],
            password_hash=digest, now=clock.now())))

    async def simulator() -> Zigbee2MqttFlat:
        client = broker.client("sim")
        await client.connect()
        return Zigbee2MqttFlat(client, clock, ["r1_fall", "r1_leak"], seed=3)

    running.flat = running.run(simulator())
    try:
        yield running
    finally:
        running.run(running.flat.mqtt.disconnect())
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"
        loop.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with chromium("--autoplay-policy=no-user-gesture-required") as b:
        yield b


def new_page(browser: Any, errors: list[str]) -> Any:
    pg = browser.new_page(viewport={"width": 1400, "height": 900})
    pg.set_default_timeout(WAIT_MS)
    pg.on("pageerror", lambda err: errors.append(str(err)))
    return pg


def sign_in(page: Any, url: str, user: str = "anna", home: str = "/console/alarms") -> None:
    page.goto(f"{url}/")
    page.fill("#user", user)
    page.fill("#password", PASSWORD)
    page.click("#signin")
    page.wait_for_url(f"{url}{home}")


def check_axe(page: Any, axe: str, screen: str) -> None:
    page.evaluate(Path(axe).read_text(encoding="utf-8"))  # devtools: the page's CSP stays
    result = page.evaluate("async () => await axe.run(document)")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at "
           f"{[n['target'] for n in v['nodes']][:3]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"axe-core on {screen}: {bad}"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_operator_signs_in_sees_an_alarm_acknowledges_by_keyboard_and_dispatches(
        live: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    page.goto(f"{live.url}/")
    expect(page).to_have_url(f"{live.url}/signin")
    expect(page.locator("h1")).to_have_text("Logga in")  # Swedish, whatever the browser says
    check_axe(page, axe, "sign-in")
    shot(page, "signin")
    sign_in(page, live.url)
    expect(page.locator("#status")).to_have_text("Live")
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("Anna Operatör")

    live.fall()  # the simulated flat's fall sensor trips
    row = page.locator("#queue tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_class("new")  # the visual cue
    expect(row).to_contain_text("Lgh 1102")
    expect(row).to_contain_text("zigbee2mqtt:r1_fall")
    expect(row.locator("td").nth(5)).to_have_text("Storgatan 1, lgh 1102, Badrum")
    expect(row).to_contain_text("larmcentral → hemtjanst-natt")
    expect(row).to_contain_text("nytt")
    expect(page.locator("#announce")).to_contain_text("Nytt larm")
    expect(page.locator("body")).to_have_attribute("data-cues", "1")  # sound played with it

    # keyboard only: focus the queue, open the alarm, Kvittera
    page.locator("#queue tbody tr").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#act-acknowledge")).to_be_focused()
    expect(page.locator("#detail-facts")).to_contain_text("Lgh 1102")
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_have_text("Larmet är kvitterat.")
    expect(row).to_contain_text("kvitterat")
    expect(page.locator("#timeline")).to_contain_text("Kvitterat")
    expect(page.locator("#timeline")).to_contain_text("anna")

    # Skicka to a staff member, chosen with the keyboard
    page.locator("#dispatch-to").focus()
    page.locator("#dispatch-to").select_option("staff:hanna")
    page.locator("#act-dispatch").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_have_text("Hanna, hemtjänst norr är skickad.")
    expect(row).to_contain_text("skickat")
    expect(page.locator("#detail-facts")).to_contain_text("Hanna, hemtjänst norr")
    check_axe(page, axe, "alarm queue")
    shot(page, "alarm-queue")

    # a missed dose would follow the resident's plan, not the municipality's chain
    config = json.loads(page.locator("#console-config").text_content() or "{}")
    assert config["tenants"][0]["medication"] == {"r-1": ["hemtjanst-norr", "larmcentral"]}
    alarm = live.run(live.gateway.alarms.open_alarms("vasteras"))[0]
    assert alarm.acknowledged_by.id == "anna"  # recorded under the signed-in user's name
    assert [a.id for a in alarm.dispatched_to] == ["hanna"]
    assert errors == [], f"JavaScript errors on the page: {errors}"


def test_a_stale_action_shows_what_happened(live: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    page.route("**/api/v1/stream**", lambda route: route.abort())  # this screen falls behind
    sign_in(page, live.url)
    live.fall()
    page.reload()
    row = page.locator("#queue tbody tr")
    expect(row).to_have_count(1)
    row.first.click()
    # meanwhile a colleague takes it
    alarm = live.run(live.gateway.alarms.open_alarms("vasteras"))[0]
    live.run(live.gateway.alarms.acknowledge(
        "vasteras", alarm.id, Actor(kind="operator", id="bertil", name="Bertil")))
    page.click("#act-acknowledge")
    expect(page.locator("#result")).to_have_text(
        "Någon hann före: larmet är nu kvitterat av Bertil. Kön visar läget som det är.")
    expect(row).to_contain_text("kvitterat")
    assert errors == []


def test_sign_out_and_the_language_choice_is_remembered(live: Running, browser: Any,
                                                        axe: str) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url)
    page.click("#signout")
    expect(page).to_have_url(f"{live.url}/signin?why=signed_out")
    expect(page.locator("#notice")).to_have_text("Du är utloggad.")
    page.goto(f"{live.url}/console/alarms")
    expect(page).to_have_url(f"{live.url}/signin?next=%2Fconsole%2Falarms")

    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.goto(f"{live.url}/")  # a new visit: still English
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    check_axe(page, axe, "sign-in (English)")
    sign_in(page, live.url)
    expect(page.locator("h1")).to_have_text("Alarm queue")
    expect(page.locator("#status")).to_have_text("Live")
    page.click("#lang-sv")
    expect(page.locator("h1")).to_have_text("Larmkö")
    assert errors == []


def test_a_call_that_meets_the_signed_out_session_waits_for_the_page_to_leave(
        live: Running, browser: Any) -> None:
    """Signing out ends the session before its answer (the redirect) arrives. A reload that
    meets the 401 in between (an event, the stream opening) is no error and no "session
    expired": it waits for the page to leave. Here the sign-out form's submit event is sent
    without submitting, and the API answers 401, so the gap is as long as the test needs;
    before the fix the call failed with "Din session har gått ut", which a background
    reload left as an uncaught error."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url)
    expect(page.locator("#status")).to_have_text("Live")
    page.route("**/api/**", lambda route: route.fulfill(
        status=401, content_type="application/json", body='{"detail": "session ended"}'))
    outcome = page.evaluate("""async () => {
        document.querySelector("#signout").form.dispatchEvent(
            new Event("submit", { bubbles: true, cancelable: true }));
        const call = api("GET", "/api/v1/alarms", { tenant: "vasteras" })
            .then(() => "answered", (err) => `failed: ${err.message}`);
        const later = new Promise((done) => setTimeout(() => done("waiting"), 500));
        return await Promise.race([call, later]);
    }""")
    assert outcome == "waiting"
    assert page.url == f"{live.url}/console/alarms"  # not sent to "session expired"
    page.unroute("**/api/**")
    page.click("#signout")
    expect(page).to_have_url(f"{live.url}/signin?why=signed_out")
    assert errors == []


def test_the_live_view_s_call_that_meets_the_signed_out_session_waits_too(
        live: Running, browser: Any) -> None:
    """The same gap on the live view (live.js has its own getJSON): before the fix a call
    that met the 401 while signing out failed with "401 …" instead of waiting."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url)
    page.goto(f"{live.url}/live?tenant=vasteras")
    expect(page.locator("#status")).to_have_text("live")
    page.route("**/api/**", lambda route: route.fulfill(
        status=401, content_type="application/json", body='{"detail": "session ended"}'))
    outcome = page.evaluate("""async () => {
        document.querySelector("#signout").form.dispatchEvent(
            new Event("submit", { bubbles: true, cancelable: true }));
        const call = getJSON("/api/v1/events", { tenant: "vasteras" })
            .then(() => "answered", (err) => `failed: ${err.message}`);
        const later = new Promise((done) => setTimeout(() => done("waiting"), 500));
        return await Promise.race([call, later]);
    }""")
    assert outcome == "waiting"
    assert page.url == f"{live.url}/live?tenant=vasteras"  # not sent to "session expired"
    page.unroute("**/api/**")
    page.click("#signout")
    expect(page).to_have_url(f"{live.url}/signin?why=signed_out")
    assert errors == []


def test_each_role_gets_its_own_home_and_menu_and_every_screen_passes_axe(
        live: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url, "hanna", home="/console/hemtjanst")  # home care: their shift
    expect(page.locator("h1")).to_have_text("Mitt pass")
    expect(page.locator("nav")).not_to_contain_text("Larmkö")
    page.goto(f"{live.url}/console/alarms")  # not their screen: back home
    expect(page).to_have_url(f"{live.url}/console/hemtjanst")
    page.click("nav >> text=Start")
    expect(page.locator("h1")).to_have_text("Start")
    check_axe(page, axe, "home (staff)")
    shot(page, "home")
    page.click("#signout")  # done before the next visit, or that visit cancels its answer
    expect(page).to_have_url(f"{live.url}/signin?why=signed_out")

    sign_in(page, live.url, "ulla", home="/console/uppfoljning")  # follow-up: its figures
    expect(page.locator("h1")).to_contain_text("Uppföljning")
    check_axe(page, axe, "follow-up (analyst)")
    page.goto(f"{live.url}/console/alarms")  # not their screen: back to their home
    expect(page).to_have_url(f"{live.url}/console/uppfoljning")
    page.goto(f"{live.url}/console/home")
    expect(page.locator("main")).to_contain_text("vasteras")
    expect(page.locator("nav")).to_contain_text("Uppföljning")
    page.click("#signout")
    expect(page).to_have_url(f"{live.url}/signin?why=signed_out")

    sign_in(page, live.url)  # the operator: queue, events, home
    expect(page.locator("nav a")).to_have_text(["Larmkö", "Händelser", "Start"])
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Larmkö")
    page.click("nav >> text=Händelser")
    expect(page).to_have_url(f"{live.url}/live?tenant=vasteras")
    expect(page.locator("#status")).to_have_text("live")  # the cookie opens the stream
    check_axe(page, axe, "live view")
    shot(page, "live")
    page.click("nav >> text=Start")
    check_axe(page, axe, "home (operator)")
    assert errors == []


def test_keyboard_path_through_a_queue_most_urgent_first(live: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url)
    expect(page.locator("#status")).to_have_text("Live")
    live.leak()
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(1)
    live.fall()  # later, but more urgent: it goes on top
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Kritisk")
    expect(rows.nth(0)).to_contain_text("fall")
    expect(rows.nth(1)).to_contain_text("water")
    expect(page.locator("body")).to_have_attribute("data-cues", "2")
    # Tab from the header into the queue lands on one row; arrows move, Enter opens
    page.locator("#signout").focus()
    page.keyboard.press("Tab")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("End")
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#detail-facts")).to_contain_text("Kök")
    expect(page.locator("#act-acknowledge")).to_be_focused()
    expect(rows.nth(1)).not_to_have_class("new")  # opened: no longer flagged new
    expect(rows.nth(0)).to_have_class("new")
    assert errors == []


def test_an_alarm_raised_before_the_stream_opened_is_shown_when_it_opens(
        live: Running, browser: Any) -> None:
    """The queue's first read and its live stream are two requests: an alarm raised
    between them (or while the stream was down) must appear once the stream opens,
    not wait for the next event. The first stream request is refused here, the alarm
    raised, and the browser's own reconnect (a new stream starts from now) opens it."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    refused: list[str] = []

    def first_refused(route: Any) -> None:
        if not refused:
            refused.append(route.request.url)
            live.fall()  # raised after the queue's first read, before any stream is open
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/stream*", first_refused)
    sign_in(page, live.url)
    expect(page.locator("#status")).to_have_text("Live")  # the reconnect opened
    assert refused, "the stream was never requested"
    expect(page.locator("#queue tbody tr")).to_have_count(1)
    expect(page.locator("#queue tbody tr")).to_contain_text("zigbee2mqtt:r1_fall")
    assert errors == []
