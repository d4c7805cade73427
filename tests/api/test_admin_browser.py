"""The administrator's and the auditor's screens in a real browser (Chromium, Playwright).

An administrator signs in, adds a resident with the keyboard alone (sex, birth year,
housing, a grant decision), gets the API's validation error beside the form naming the
field, fixes it; a clash (409) is said in words; assigns a device to the resident and
unassigns it. What was stored is read back from the store, and the audit log says it was
the administrator. An auditor then finds the change in the audit search and sees that the
chain verifies. An operator gets neither menu entry and is refused the pages. axe-core
must find no serious or critical violation on any of the screens.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.api.console.admin import RESOURCES, message_keys
from gateway.api.console.i18n import catalogue
from gateway.core.care.items import care_items
from simulators.zigbee2mqtt import Zigbee2MqttFlat

from . import test_console_browser as _console
from .conftest import later
from .test_console_browser import Running, check_axe, new_page, shot, sign_in
from .test_homecare_browser import serve

pytestmark = pytest.mark.chromium
axe = _console.axe  # the fixtures: axe-core from npm, Chromium under Playwright
browser = _console.browser

CARE = {"tenants": [{
    "id": "vasteras", "name": "Västerås stad",
    "alarms": {"receivers": ["larmcentral"]},
    "residents": [{"id": "r-1", "label": "Lgh 1102", "sex": "male", "birth_year": 1931,
                   "housing": "special"}],
    "devices": [{"adapter": "zigbee2mqtt", "address": "r1_fall", "kind": "passive_sensor",
                 "resident": "r-1", "location": "Badrum", "heartbeat_s": 600},
                {"adapter": "zigbee2mqtt", "address": "hall_motion", "kind": "passive_sensor",
                 "location": "Hall"}],
    "staff": [{"id": "hanna", "label": "Hanna, hemtjänst norr", "teams": ["norr"],
               "roles": ["home_care"]}],
    "plans": [{"id": "p-1", "resident": "r-1", "visits": [
        {"days": ["mon", "wed"], "start": "08:00", "end": "08:30", "team": "norr"}]}],
    "consents": [{"id": "c-1", "resident": "r-1", "purpose": "camera_supervision",
                  "valid_from": "2025-01-01T00:00:00+00:00",
                  "legal_basis": "samtycke, SoL; beslut 2025-17"}],
    "relatives": [{"id": "rel-1", "resident": "r-1", "label": "Dotter", "channel": "anhoriga"}],
    "supervision": [{"resident": "r-1", "windows": [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "22:00",
         "end": "06:00"}]}],
}, {"id": "orebro", "name": "Örebro kommun",
    "residents": [{"id": "o-1", "label": "Örebro lgh 4", "housing": "ordinary"}]}]}
USERS = [("alma", "Alma Administratör", "admin"), ("greta", "Greta Granskare", "auditor"),
         ("anna", "Anna Operatör", "operator")]


@pytest.fixture
def admin_live(tmp_path: Path) -> Iterator[Running]:
    with serve(tmp_path, CARE, [{"adapter": "zigbee2mqtt", "tenant": "vasteras"}], USERS,
               FakeClock(later(3600))) as (running, broker):

        async def simulator() -> Zigbee2MqttFlat:
            client = broker.client("sim")
            await client.connect()
            return Zigbee2MqttFlat(client, running.gateway.clock, ["r1_fall"], seed=3)

        running.flat = running.run(simulator())
        try:
            yield running
        finally:
            running.run(running.flat.mqtt.disconnect())


def stored(live: Running, table: str) -> dict[str, dict[str, Any]]:
    store = live.gateway.store
    rows = live.run(store.read(lambda conn: store.rows(table, "vasteras")))
    return {r["id"]: {**r, "body": json.loads(r["body"] or "{}")} for r in rows}


def audited(live: Running, actor: str, action: str, count: int) -> list[tuple[str, str]]:
    """The ``count`` newest audit entries of ``actor`` whose action contains ``action``.

    The audit trail writes its entry once the response is sent, so the browser may see the
    answer a moment before the entry is there: wait for it (bounded: 5 s)."""
    for _ in range(100):
        found = live.run(live.gateway.audit.entries("vasteras", actor=actor, action=action))
        if len(found) >= count:
            break
        threading.Event().wait(0.05)
    return [(e.action, e.decision) for e in found][:count]


def loaded(page: Any) -> None:
    """The editor's list has arrived (rows, or the words for none)."""
    page.wait_for_function("() => document.querySelectorAll('#items tbody tr').length > 0 "
                           "|| !document.getElementById('items-empty').hidden")


def tab_to(page: Any, target: str, most: int = 10) -> list[str]:
    """Press Tab until element ``target`` has the focus; the ids the focus passed, in order."""
    passed: list[str] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        now = page.evaluate("() => document.activeElement && document.activeElement.id")
        if not passed or passed[-1] != now:
            passed.append(now)
        if now == target:
            return passed
    raise AssertionError(f"Tab did not reach #{target}; it passed {passed}")


def test_every_word_the_editor_asks_for_is_in_both_catalogues() -> None:
    for lang in ("sv", "en"):
        assert sorted(message_keys() - set(catalogue(lang))) == [], lang


def test_admin_adds_a_resident_by_keyboard_assigns_a_device_and_the_auditor_finds_it(
        admin_live: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    live = admin_live
    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url, "alma", home="/console/admin/residents")  # the admin's home
    nav = page.locator("header nav")
    expect(nav).to_contain_text("Administration")
    expect(nav).to_contain_text("Granskning")
    expect(page.locator("h1")).to_have_text("Boende")
    loaded(page)
    expect(page.locator("#items tbody tr")).to_have_count(1)
    expect(page.locator("#items tbody tr").first).to_contain_text("särskilt boende")
    check_axe(page, axe, "residents")
    shot(page, "admin-residents")

    # keyboard only: open the form, fill it in field by field, add a grant, save
    page.locator("#add").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#f-id")).to_be_focused()
    page.keyboard.type("r-77")
    page.keyboard.press("Tab")
    expect(page.locator("#f-label")).to_be_focused()
    page.keyboard.type("Lgh 1307")
    page.keyboard.press("Tab")
    expect(page.locator("#f-sex")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the first choice after "none": kvinna
    expect(page.locator("#f-sex")).to_have_value("female")
    page.keyboard.press("Tab")
    expect(page.locator("#f-birth_year")).to_be_focused()
    page.keyboard.type("1700")  # the API says no: before 1880
    page.keyboard.press("Tab")
    expect(page.locator("#f-housing")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#f-housing")).to_have_value("ordinary")
    page.keyboard.press("Tab")
    expect(page.locator("#f-personal_number")).to_be_focused()  # write-only: left empty
    page.keyboard.press("Tab")
    expect(page.locator("#f-grants .add-row")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#f-grants-0-technology")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#f-grants-0-technology")).to_have_value("social_alarm")
    page.keyboard.press("Tab")
    expect(page.locator("#f-grants-0-granted")).to_be_focused()
    page.locator("#f-grants-0-granted").fill("2026-03-01")  # a date field's segments vary
    # Tab walks through the date fields' segments (day, month, year) to the decision
    assert tab_to(page, "f-grants-0-decision") == [
        "f-grants-0-granted", "f-grants-0-ended", "f-grants-0-decision"]
    page.keyboard.type("SoL 4 kap. 1 §, beslut 2026-0412")
    check_axe(page, axe, "resident form")
    shot(page, "admin-resident-form")
    page.keyboard.press("Enter")  # submits the form

    # the API's 422, beside the form, naming the field in words; its link leads there
    summary = page.locator("#errors")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Födelseår: måste vara minst 1880")
    expect(page.locator("#f-birth_year")).to_have_attribute("aria-invalid", "true")
    assert "422" not in summary.inner_text()
    check_axe(page, axe, "resident form with errors")
    shot(page, "admin-validation")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the error's link
    expect(page.locator("#f-birth_year")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("1938")
    page.keyboard.press("Enter")
    expect(page.locator("#result")).to_have_text("r-77 är tillagd.")
    row = page.locator("#items tbody tr", has_text="r-77")
    expect(row.get_by_role("button", name="Ändra r-77")).to_be_focused()  # on the saved row
    expect(row).to_contain_text("kvinna")
    expect(row).to_contain_text("trygghetslarm 2026-03-01 \u2013 tills vidare")
    body = stored(live, "residents")["r-77"]["body"]
    assert (body["label"], body["sex"], body["birth_year"], body["housing"]) == (
        "Lgh 1307", "female", 1938, "ordinary")
    assert [(g["technology"], g["granted"], g.get("ended")) for g in body["grants"]] == [
        ("social_alarm", "2026-03-01", None)]
    assert audited(live, "alma", "post /api/v1/residents", 2) == [
        ("api POST /api/v1/residents", "done"), ("api POST /api/v1/residents", "refused 422")]

    # a resident whose id is taken: a 409, said in words
    page.locator("#add").click()
    page.locator("#f-id").fill("r-1")
    page.locator("#save").click()
    expect(summary).to_contain_text("Det krockar med det som redan finns")
    expect(summary).to_contain_text("Navet svarade:")
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    expect(page.locator("#add")).to_be_focused()  # back where the form was opened

    # devices: their health; the fall sensor reports with a nearly empty battery
    live.flat.sensors["fall"].battery = 9.0
    live.run(live.flat.report("fall", fall=False))
    for _ in range(100):  # bounded: 5 s
        if stored(live, "devices")["zigbee2mqtt:r1_fall"]["last_seen"]:
            break
        threading.Event().wait(0.05)
    page.locator(".subnav a", has_text="Enheter").click()
    page.wait_for_url(f"{live.url}/console/admin/devices?tenant=vasteras")
    loaded(page)
    fall = page.locator("#items tbody tr", has_text="zigbee2mqtt:r1_fall")
    expect(fall).to_contain_text("senast hörd")
    expect(fall).to_contain_text("lågt batteri 9 %")
    expect(fall).to_contain_text("Lgh 1102 (r-1)")
    hall = page.locator("#items tbody tr", has_text="zigbee2mqtt:hall_motion")
    expect(hall).to_contain_text("aldrig hörd")
    # assign the hall sensor to the new resident, then unassign it
    check_axe(page, axe, "devices")
    hall.get_by_role("button", name="Ändra zigbee2mqtt:hall_motion").click()
    expect(page.locator("#f-adapter")).to_have_attribute("readonly", "")
    page.locator("#f-resident").select_option("r-77")
    page.locator("#save").click()
    expect(page.locator("#result")).to_have_text("zigbee2mqtt:hall_motion är ändrad.")
    expect(hall).to_contain_text("Lgh 1307 (r-77)")
    assert stored(live, "devices")["zigbee2mqtt:hall_motion"]["resident"] == "r-77"
    assert audited(live, "alma", "patch /api/v1/devices", 1) == [
        ("api PATCH /api/v1/devices/{device:path}", "done")]
    shot(page, "admin-devices")
    hall.get_by_role("button", name="Koppla från zigbee2mqtt:hall_motion från r-77").click()
    expect(page.locator("#result")).to_have_text(
        "zigbee2mqtt:hall_motion är frånkopplad från r-77.")
    assert stored(live, "devices")["zigbee2mqtt:hall_motion"]["resident"] is None

    # every other administrator's screen: it loads, and axe-core finds nothing serious
    for resource in RESOURCES:
        if resource.name in ("residents", "devices"):
            continue
        page.goto(f"{live.url}/console/admin/{resource.name}")
        loaded(page)
        expect(page.locator("#items-failed")).to_be_hidden()
        check_axe(page, axe, resource.name)
        shot(page, f"admin-{resource.name}")
    page.goto(f"{live.url}/console/admin/adapters")
    loaded(page)
    expect(page.locator("#items tbody tr").first).to_contain_text("igång")
    assert errors == []

    # the auditor finds the administrator's change, and the chain verifies
    auditor = new_page(browser, errors)
    sign_in(auditor, live.url, "greta", home="/console/granskning")
    expect(auditor.locator("header nav")).not_to_contain_text("Administration")
    expect(auditor.locator("#chain")).to_contain_text("Kedjan är obruten")
    auditor.fill("#a-actor", "alma")
    auditor.fill("#a-action", "residents")
    auditor.click("#a-search")
    expect(auditor.locator("#a-result")).to_have_text("3 poster.")  # newest first:
    found = auditor.locator("#entries tbody tr")
    for i, outcome in enumerate(("refused 409", "done", "refused 422")):  # the clash, the
        expect(found.nth(i)).to_contain_text("api POST /api/v1/residents")  # resident, the
        expect(found.nth(i)).to_contain_text("alma (operator)")  # birth year 1700
        expect(found.nth(i)).to_contain_text(outcome)
    check_axe(auditor, axe, "audit search")
    shot(auditor, "audit")
    auditor.fill("#a-actor", "nobody")
    auditor.click("#a-search")
    expect(auditor.locator("#a-result")).to_have_text("0 poster.")
    # the auditor may not open the administrator's screens
    refused = auditor.goto(f"{live.url}/console/admin/residents")
    assert refused is not None and refused.status == 403

    # a webhook to an address the outbound policy refuses: the field is named, in words
    page.goto(f"{live.url}/console/admin/subscriptions")
    loaded(page)
    page.locator("#add").click()
    page.locator("#f-settings_url").fill("http://127.0.0.1:9/hook")
    page.locator("#f-settings_secret").fill("a-shared-secret-of-enough-length")
    page.locator("#save").click()
    expect(summary).to_contain_text("Uppgifterna godtogs inte")
    expect(summary).to_contain_text("Adress (URL): Navet svarade:")
    expect(page.locator("#f-settings_url")).to_have_attribute("aria-invalid", "true")
    assert live.gateway.store.subscriptions == [] or all(
        s.tenant != "vasteras" for s in live.gateway.store.subscriptions)

    # removing a resident others still name: 409 in words, then with everything that is theirs
    page.goto(f"{live.url}/console/admin/residents")
    loaded(page)
    page.get_by_role("button", name="Ta bort r-1").click()
    expect(page.locator("#confirm-no")).to_be_focused()
    page.locator("#confirm-yes").click()
    expect(summary).to_contain_text("Det krockar med det som redan finns")
    page.locator("#confirm-cascade").click()
    expect(page.locator("#result")).to_have_text("r-1 är borttagen.")
    expect(page.locator("#items tbody")).not_to_contain_text("Lgh 1102")
    assert "r-1" not in stored(live, "residents")
    assert stored(live, "devices")["zigbee2mqtt:r1_fall"]["resident"] is None
    assert audited(live, "alma", "delete /api/v1/residents", 2) == [
        ("api DELETE /api/v1/residents/{resident}", "done"),
        ("api DELETE /api/v1/residents/{resident}", "refused 409")]
    assert errors == []


def test_an_operator_gets_no_admin_menu_and_is_refused_the_pages(
        admin_live: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, admin_live.url, "anna")
    nav = page.locator("header nav")
    expect(nav).to_contain_text("Larmkö")
    expect(nav).not_to_contain_text("Administration")
    expect(nav).not_to_contain_text("Granskning")
    for path in ("/console/admin/residents", "/console/granskning"):
        answer = page.goto(f"{admin_live.url}{path}")
        assert answer is not None and answer.status == 403, path
        expect(page.locator("h1")).to_have_text("Ingen behörighet")
    check_axe(page, axe, "refused")
    # and the API refuses the write the page would make, with the operator's own session
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    posted = page.request.post(f"{admin_live.url}/api/v1/residents?tenant=vasteras",
                               data={"id": "r-99"}, headers={"X-CSRF-Token": csrf or ""})
    assert posted.status == 403
    assert "r-99" not in stored(admin_live, "residents")
    assert errors == []


def test_an_admin_of_two_municipalities_picks_one_and_sees_only_theirs(
        admin_live: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    from gateway.core.accounts import add_user, hash_password

    from .test_console_browser import PASSWORD

    live = admin_live
    digest = hash_password(PASSWORD)
    live.run(live.gateway.store.write(lambda conn: add_user(
        conn, subject="alva", name="Alva Två Kommuner", roles=["admin"],
        tenants=["vasteras", "orebro"], password_hash=digest,
        now=live.gateway.clock.now())))
    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url, "alva", home="/console/admin/residents")
    loaded(page)
    picker = page.locator("#tenant")
    expect(picker.locator("option")).to_have_count(2)
    picker.select_option("orebro")
    page.locator("#tenant-go").click()
    page.wait_for_url(f"{live.url}/console/admin/residents?tenant=orebro")
    loaded(page)
    rows = page.locator("#items tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Örebro lgh 4")
    # the side menu keeps the municipality
    page.locator(".subnav a", has_text="Enheter").click()
    page.wait_for_url(f"{live.url}/console/admin/devices?tenant=orebro")
    loaded(page)
    expect(page.locator("#items-empty")).to_be_visible()  # Örebro has no devices
    check_axe(page, axe, "devices with a tenant picker")
    # English when picked
    page.locator("#lang-en").click()
    expect(page.locator("h1")).to_have_text("Devices")
    expect(page.locator("#items-empty")).to_have_text("Nothing registered yet.")

    # an administrator of Västerås only, asking for Örebro, is shown Västerås
    other = new_page(browser, errors)
    sign_in(other, live.url, "alma", home="/console/admin/residents")
    other.goto(f"{live.url}/console/admin/residents?tenant=orebro")
    loaded(other)
    expect(other.locator("#tenant")).to_have_count(0)
    expect(other.locator(".tenant-one")).to_have_text("Kommun: Västerås stad")
    expect(other.locator("#items tbody")).not_to_contain_text("o-1")
    expect(other.locator("#items tbody")).to_contain_text("r-1")
    assert errors == []


def test_admin_makes_a_team_and_plans_its_visits(
        admin_live: Running, browser: Any) -> None:
    """The editor's other writes: a team set by its members (PUT), a plan with a list of
    visits, each with weekdays and times; a consent with its validity."""
    from playwright.sync_api import expect

    live = admin_live
    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, live.url, "alma", home="/console/admin/residents")
    page.goto(f"{live.url}/console/admin/teams")
    loaded(page)
    page.locator("#add").click()
    page.locator("#f-id").fill("natt")
    page.get_by_role("checkbox", name="Hanna, hemtjänst norr (hanna)").check()
    page.locator("#save").click()
    expect(page.locator("#result")).to_have_text("natt är tillagd.")
    staff = live.run(live.gateway.store.read(lambda conn: care_items(conn, "vasteras", "staff")))
    assert {s["id"]: set(s["teams"]) for s in staff} == {"hanna": {"norr", "natt"}}

    page.goto(f"{live.url}/console/admin/plans")
    loaded(page)
    page.locator("#add").click()
    page.locator("#f-id").fill("p-natt")
    page.locator("#f-resident").select_option("r-1")
    page.locator("#f-visits .add-row").click()
    visit = page.locator("#f-visits fieldset.row").first
    for day in ("mån", "ons"):
        visit.get_by_role("checkbox", name=day).check()
    page.locator("#f-visits-0-start").fill("22:00")
    page.locator("#f-visits-0-end").fill("22:30")
    page.locator("#f-visits-0-team").fill("natt")
    page.locator("#save").click()
    expect(page.locator("#result")).to_have_text("p-natt är tillagd.")
    expect(page.locator("#items tbody tr", has_text="p-natt")).to_contain_text(
        "mån ons 22:00\u201322:30, natt")
    plan = live.run(live.gateway.store.read(lambda conn: care_items(conn, "vasteras",
                                                                    "plans")))
    [mine] = [p for p in plan if p["id"] == "p-natt"]
    assert [(v["days"], v["start"][:5], v["end"][:5], v["team"]) for v in mine["visits"]] == [
        (["mon", "wed"], "22:00", "22:30", "natt")]

    # a consent ends: its validity is changed, and the list says it is no longer in force
    page.goto(f"{live.url}/console/admin/consents")
    loaded(page)
    row = page.locator("#items tbody tr", has_text="c-1")
    expect(row).to_contain_text("gäller nu")
    row.get_by_role("button", name="Ändra c-1").click()
    page.locator("#f-withdrawn").fill("2025-06-01T12:00")
    page.locator("#save").click()
    expect(page.locator("#result")).to_have_text("c-1 är ändrad.")
    expect(row).to_contain_text("återkallat")
    consents = live.run(live.gateway.store.read(lambda conn: care_items(conn, "vasteras",
                                                                        "consents")))
    assert consents[0]["withdrawn"].startswith("2025-06-01")
    assert errors == []
