"""Home care on a phone (``/console/hemtjanst``) in a real browser (Chromium, Playwright).

An operator at the alarm centre acknowledges a fall and sends it to Hanna from the
queue; Hanna, signed in on a phone-sized viewport, sees it arrive live, opens the
door of her planned visit (the door policy allows it) and tries a door she has no
visit to (refused, with the policy's reason in words), then På plats and Avsluta
with an outcome. A camera check without the resident's consent is refused with
the reason. axe-core must find no serious or critical violation, the page must not
scroll sideways at 390 px, and every action is reachable with the keyboard.
The door locks are an adapter double (tests/core/policy/helpers.py): the screen,
the API and the door policy are real.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.accounts import add_user, hash_password
from gateway.core.gateway import Gateway
from gateway.core.model import make_event
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators.cameras_mqtt import VaktarenUnits
from simulators.zigbee2mqtt import Zigbee2MqttFlat
from tests.core.policy.helpers import FakeLock, FakeLockPlugin
from tests.plugins.cameras import helpers as cameras
from tests.services import free_port

from . import test_console_browser as _console
from .conftest import later
from .test_console_browser import (
    PASSWORD,
    WAIT_MS,
    Running,
    _Server,
    check_axe,
    new_page,
    shot,
    sign_in,
)

pytestmark = pytest.mark.chromium
axe = _console.axe  # the fixtures: axe-core from npm, Chromium under Playwright
browser = _console.browser

PHONE = {"width": 390, "height": 844}
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
CARE = {"tenants": [{
    "id": "vasteras", "name": "Västerås stad", "timezone": "Europe/Stockholm",
    "alarms": {"receivers": ["larmcentral"]},
    "locks": {"grace_before_s": 600, "grace_after_s": 900},
    "residents": [{"id": "r-1", "label": "Lgh 1102", "home": {"text": "Storgatan 1, lgh 1102"}},
                  {"id": "r-2", "label": "Lgh 1204", "home": {"text": "Storgatan 1, lgh 1204"}}],
    "devices": [{"adapter": "zigbee2mqtt", "address": "r1_fall", "kind": "passive_sensor",
                 "resident": "r-1", "location": "Badrum"},
                {"adapter": "fakelock", "address": "door-1", "kind": "door_lock",
                 "resident": "r-1", "location": "Ytterdörr"},
                {"adapter": "fakelock", "address": "door-2", "kind": "door_lock",
                 "resident": "r-2", "location": "Ytterdörr"}],
    # Hanna's team has a visit at r-1 all day; r-2's visits are another team's
    "plans": [{"id": "p-1", "resident": "r-1", "visits": [
                  {"days": EVERY_DAY, "start": "00:00", "end": "23:59", "team": "norr",
                   "note": "Tillsyn och medicin"}]},
              {"id": "p-2", "resident": "r-2", "visits": [
                  {"days": EVERY_DAY, "start": "00:00", "end": "23:59", "team": "syd"}]}],
    "staff": [{"id": "hanna", "label": "Hanna, hemtjänst norr", "teams": ["norr"],
               "roles": ["home_care", "night_supervision"]},
              {"id": "sven", "label": "Sven, hemtjänst syd", "teams": ["syd"]}],
    # r-1 may be looked in on by camera, but has given no consent: every check is refused
    "supervision": [{"resident": "r-1", "max_session_s": 60,
                     "windows": [{"days": EVERY_DAY, "start": "00:00", "end": "00:00"}]}],
}]}


@contextlib.contextmanager
def serve(tmp_path: Path, care: dict[str, Any], adapters: list[dict[str, Any]],
          users: list[tuple[str, str, str]], clock: FakeClock,
          plugins: list[tuple[str, Any]] | None = None) -> Iterator[tuple[Running, MemoryBroker]]:
    """Navet under uvicorn with ``auth.mode: local``, the given care data and accounts."""
    file = tmp_path / "care.json"
    file.write_text(json.dumps(care), encoding="utf-8")
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"},
                        adapters=adapters, care_config=[file])
    broker = MemoryBroker()
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"), extra_plugins=plugins or [])
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
    for subject, name, role in users:
        running.run(gw.store.write(lambda conn, s=subject, n=name, r=role: add_user(
            conn, subject=s, name=n, roles=[r], tenants=["vasteras"],
            password_hash=digest, now=clock.now())))
    try:
        yield running, broker
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        assert not thread.is_alive(), "uvicorn did not stop"
        loop.close()


@pytest.fixture
def homecare(tmp_path: Path) -> Iterator[Running]:
    FakeLock.answer = "accept"
    FakeLock.executed = []
    with serve(tmp_path, CARE, [{"adapter": "zigbee2mqtt", "tenant": "vasteras"},
                                {"adapter": "fakelock", "tenant": "vasteras"}],
               [("anna", "Anna Operatör", "operator"), ("hanna", "Hanna Hemtjänst", "staff")],
               FakeClock(later(3600)), [("fakelock", FakeLockPlugin())]) as (running, broker):

        async def simulator() -> Zigbee2MqttFlat:
            client = broker.client("sim")
            await client.connect()
            return Zigbee2MqttFlat(client, running.gateway.clock, ["r1_fall"], seed=3)

        running.flat = running.run(simulator())
        try:
            yield running
        finally:
            running.run(running.flat.mqtt.disconnect())


@pytest.fixture
def night(tmp_path: Path) -> Iterator[tuple[Running, VaktarenUnits]]:
    """The camera tests' municipality (tests/plugins/cameras), its cameras Vaktaren units
    simulated on the broker; 22:30 on a Tuesday in Stockholm."""
    with serve(tmp_path, cameras.care("vaktaren"),
               [{"adapter": "vaktaren", "tenant": "vasteras",
                 "settings": cameras.vaktaren_settings()}],
               [("natt-1", "Nils Natt", "staff")], FakeClock(cameras.T0)) as (running, broker):

        async def units() -> VaktarenUnits:
            client = broker.client("units")
            await client.connect()
            fleet = VaktarenUnits(client, running.gateway.clock, list(cameras.CAMERAS.values()),
                                  base_topic="vaktaren/site-1")
            await fleet.start()
            return fleet

        fleet = running.run(units())
        try:
            yield running, fleet
        finally:
            running.run(fleet.stop())
            running.run(fleet.mqtt.disconnect())


def phone_page(browser: Any, errors: list[str]) -> Any:
    pg = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    pg.set_default_timeout(WAIT_MS)
    pg.on("pageerror", lambda err: errors.append(str(err)))
    return pg


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"


def test_staff_on_a_phone_gets_the_alarm_opens_doors_attends_and_closes(
        homecare: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    live = homecare
    errors: list[str] = []
    phone = phone_page(browser, errors)
    sign_in(phone, live.url, "hanna", home="/console/hemtjanst")  # her home is her shift
    expect(phone.locator("h1")).to_have_text("Mitt pass")
    expect(phone.locator("nav")).not_to_contain_text("Larmkö")
    expect(phone.locator("#status")).to_have_text("Live")
    expect(phone.locator("#alarms-empty")).to_be_visible()
    visit = phone.locator("#my-visits li")
    expect(visit).to_have_count(1)
    expect(visit).to_contain_text("00:00\u201323:59 Lgh 1102 (r-1)")  # Stockholm time
    expect(visit).to_contain_text("pågår")
    expect(visit).to_contain_text("Tillsyn och medicin")
    doors = phone.locator("#my-doors li")
    expect(doors).to_have_count(1)  # only the door of her visit; r-2's is another team's
    expect(doors).to_contain_text("fakelock:door-1 · besök, öppen till 00:14")
    expect(phone.locator("#my-cameras")).to_contain_text("Tillsyn hela dygnet, högst 1 min")

    # at the alarm centre: a fall, Kvittera, Skicka to Hanna
    desk = new_page(browser, errors)
    sign_in(desk, live.url)
    expect(desk.locator("#status")).to_have_text("Live")
    live.fall()
    row = desk.locator("#queue tbody tr")
    expect(row).to_have_count(1)
    row.first.click()
    desk.click("#act-acknowledge")
    expect(desk.locator("#result")).to_have_text("Larmet är kvitterat.")
    desk.locator("#dispatch-to").select_option("staff:hanna")
    desk.click("#act-dispatch")
    expect(desk.locator("#result")).to_have_text("Hanna, hemtjänst norr är skickad.")

    # the phone: the alarm arrives live, announced
    card = phone.locator("#my-alarms li")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("fall")
    expect(card).to_contain_text("Lgh 1102 (r-1), Storgatan 1, lgh 1102")
    expect(card).to_contain_text("skickat")
    expect(phone.locator("#announce")).to_contain_text("Larm till dig: fall")
    expect(phone.locator("body")).to_have_attribute("data-cues", "1")
    no_sideways_scroll(phone)

    # the door of her planned visit, with the keyboard: allowed, and the lock is asked
    phone.locator("#unlock-fakelock_door-1").focus()
    phone.keyboard.press("Enter")
    expect(phone.locator("#door-result")).to_contain_text("Dörren fakelock:door-1 låses upp")
    assert [(c.device, c.name) for c in FakeLock.executed] == [
        ("fakelock:door-1", "lock.unlock")]
    live.run(live.gateway.emit([make_event(  # the lock reports, as a vendor's would
        "lock.unlocked", tenant="vasteras", time=live.gateway.clock.now(),
        source={"adapter": "fakelock", "protocol": "test", "ref": "v-1"},
        device={"id": "fakelock:door-1", "kind": "door_lock"}, resident="r-1",
        data={"method": "app"}, id_parts=("v-1", "unlocked"))]))
    expect(phone.locator("#door-result")).to_contain_text(
        "Låset bekräftar: dörren fakelock:door-1 är upplåst (02:00).")

    # a door she has no visit to: refused, with the door policy's reason in words
    phone.locator("#other-door").select_option("vasteras/fakelock:door-2")
    phone.click("#other-unlock")
    result = phone.locator("#door-result")
    expect(result).to_contain_text("Nekad: dörren fakelock:door-2 öppnas inte för dig nu.")
    expect(result).to_contain_text("Inget besök hos den boende är planerat för dig eller ditt "
                                   "team, och inget larm är skickat till dig.")
    expect(result).to_contain_text("no visit to this resident is planned")  # the policy's own
    assert len(FakeLock.executed) == 1  # the refused door was never sent to the vendor
    denied = live.gateway.store.query_events("vasteras", types=["lock.denied"])
    assert len(denied) == 1

    # camera checks tonight: r-1 has a schedule but no consent, so the policy refuses
    phone.click("#check-r-1")
    expect(phone.locator("#check-result")).to_have_text(
        "Nekad: Den boende har inget samtycke till kameratillsyn.")
    expect(phone.locator("#checks-done")).to_contain_text("Lgh 1102 (r-1): nekad")
    check_axe(phone, axe, "home care (phone)")
    shot(phone, "homecare")

    # På plats, with the keyboard
    attend = card.locator(".act-attend")
    attend.focus()
    phone.keyboard.press("Enter")
    expect(phone.locator("#alarm-result")).to_have_text("Markerat på plats.")
    expect(card).to_contain_text("på plats")
    expect(card.locator(".act-attend")).to_be_disabled()

    # Avsluta with an outcome and a comment
    card.locator(".outcome").select_option("assistance_given")
    card.locator(".close-note").fill("Hjälpt upp, inga skador")
    card.locator(".act-close").click()
    expect(phone.locator("#alarm-result")).to_have_text("Larmet är avslutat.")
    expect(phone.locator("#my-alarms li")).to_have_count(0)
    expect(phone.locator("#alarms-empty")).to_be_visible()
    no_sideways_scroll(phone)

    closed = live.run(live.gateway.alarms.alarm("vasteras", _only_alarm(live)))
    assert closed.attended_by.id == "hanna"
    assert closed.closed_by.id == "hanna" and str(closed.outcome) == "assistance_given"
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _only_alarm(live: Running) -> str:
    rows = live.gateway.store.query_events("vasteras", types=["alarm.raised"])
    assert len(rows) == 1
    return str(rows[0].event.alarm)


def test_a_closed_alarm_on_the_phone_shows_what_happened(homecare: Running,
                                                         browser: Any) -> None:
    """Two people sent to one alarm: the second to press Avsluta is told it is closed."""
    from playwright.sync_api import expect

    from gateway import Actor

    live = homecare
    errors: list[str] = []
    phone = phone_page(browser, errors)
    phone.route("**/api/v1/stream**", lambda route: route.abort())  # this phone falls behind
    sign_in(phone, live.url, "hanna", home="/console/hemtjanst")
    live.fall()
    alarm = _wait_alarm(live)
    operator = Actor(kind="operator", id="anna", name="Anna")
    live.run(live.gateway.alarms.acknowledge("vasteras", alarm, operator))
    live.run(live.gateway.alarms.dispatch("vasteras", alarm, operator,
                                          Actor(kind="staff", id="hanna", name="Hanna")))
    phone.reload()
    card = phone.locator("#my-alarms li")
    expect(card).to_have_count(1)
    # meanwhile the operator closes it
    live.run(live.gateway.alarms.close("vasteras", alarm, operator, "false_alarm"))
    card.locator(".outcome").select_option("no_action_needed")
    card.locator(".act-close").click()
    expect(phone.locator("#alarm-result")).to_have_text(
        "Det hann hända något: larmet är nu avslutat av Anna.")
    expect(phone.locator("#my-alarms li")).to_have_count(0)
    assert errors == []


def test_an_alarm_closed_at_the_centre_leaves_the_phone_saying_so(
        homecare: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    from gateway import Actor

    live = homecare
    errors: list[str] = []
    phone = phone_page(browser, errors)
    sign_in(phone, live.url, "hanna", home="/console/hemtjanst")
    expect(phone.locator("#status")).to_have_text("Live")
    live.fall()
    alarm = _wait_alarm(live)
    operator = Actor(kind="operator", id="anna", name="Anna")
    live.run(live.gateway.alarms.acknowledge("vasteras", alarm, operator))
    live.run(live.gateway.alarms.dispatch("vasteras", alarm, operator,
                                          Actor(kind="staff", id="hanna", name="Hanna")))
    expect(phone.locator("#my-alarms li")).to_have_count(1)
    live.run(live.gateway.alarms.close("vasteras", alarm, operator, "false_alarm"))
    expect(phone.locator("#my-alarms li")).to_have_count(0)
    expect(phone.locator("#alarm-result")).to_have_text(
        "Larmet (fall, Lgh 1102 (r-1)) är inte längre ditt: det är nu avslutat av Anna.")
    assert errors == []


def _wait_alarm(live: Running) -> str:
    for _ in range(100):  # bounded: 5 s
        rows = live.gateway.store.query_events("vasteras", types=["alarm.raised"])
        if rows:
            return str(rows[0].event.alarm)
        threading.Event().wait(0.05)
    raise AssertionError("the fall raised no alarm")


def test_other_roles_do_not_get_the_home_care_screen(homecare: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, homecare.url)
    expect(page.locator("nav")).not_to_contain_text("Hemtjänst")
    page.goto(f"{homecare.url}/console/hemtjanst")
    expect(page).to_have_url(f"{homecare.url}/console/alarms")
    page.click("#signout")
    expect(page).to_have_url(f"{homecare.url}/signin?why=signed_out")  # then a new visit
    page.goto(f"{homecare.url}/console/hemtjanst")
    expect(page).to_have_url(f"{homecare.url}/signin?next=%2Fconsole%2Fhemtjanst")
    assert errors == []


def test_a_night_check_on_the_phone_start_observe_end_and_a_refusal(
        night: tuple[Running, VaktarenUnits], browser: Any, axe: str) -> None:
    """Camera supervision within the consent rules: r-1 consented, r-3's son withdrew his."""
    from playwright.sync_api import expect

    live, _ = night
    errors: list[str] = []
    phone = phone_page(browser, errors)
    sign_in(phone, live.url, "natt-1", home="/console/hemtjanst")
    expect(phone.locator("#cameras")).to_be_visible()
    expect(phone.locator("#my-cameras li")).to_have_count(len(cameras.RESIDENTS))
    expect(phone.locator("#my-cameras li").first).to_contain_text(
        "Tillsyn 22:00\u201307:00, högst 1 min")

    phone.click("#check-r-3")  # a cohabitant withdrew: refused, and nothing is opened
    expect(phone.locator("#check-result")).to_have_text(
        "Nekad: Någon som bor i hemmet har inte gett (eller har återkallat) sitt samtycke.")
    expect(phone.locator("#check-open")).to_be_hidden()

    phone.click("#check-r-1")
    expect(phone.locator("#check-result")).to_have_text("Tillsynen har startat.")
    expect(phone.locator("#check-open")).to_be_visible()
    expect(phone.locator("#check-title")).to_be_focused()
    href = phone.locator("#check-view").get_attribute("href") or ""
    assert href.startswith("https://relay.vaktaren.example/v"), href  # the single-use view
    expect(phone.locator("#check-ends")).to_contain_text("22:31")  # max 60 s, Stockholm time
    expect(phone.locator("#check-r-5")).to_be_disabled()  # one check at a time
    check_axe(phone, axe, "home care, a camera check (phone)")
    phone.locator("#finding").select_option("asleep")
    phone.click("#act-observe")
    expect(phone.locator("#check-result")).to_have_text("Sparat: Sover.")
    expect(phone.locator("#checks-done")).to_contain_text("Lgh r-1 (r-1): pågår (Sover)")
    phone.click("#act-end-check")
    expect(phone.locator("#check-result")).to_have_text("Tillsynen är avslutad.")
    expect(phone.locator("#check-open")).to_be_hidden()
    done = phone.locator("#checks-done li")
    expect(done).to_have_count(2)
    expect(done.nth(0)).to_contain_text("Lgh r-3 (r-3): nekad")
    expect(done.nth(1)).to_contain_text("Lgh r-1 (r-1): avslutad (Sover)")
    no_sideways_scroll(phone)
    phone.click("#lang-en")  # the same screen in English, the script's words too
    expect(phone.locator("h1")).to_have_text("My shift")
    expect(phone.locator("#checks-done li").nth(1)).to_contain_text(
        "Lgh r-1 (r-1): ended (Asleep)")
    found = live.gateway.store.query_events("vasteras", types=["supervision.observation"])
    assert [e.event.data.finding for e in found] == ["asleep"]
    assert errors == [], f"JavaScript errors on the page: {errors}"
