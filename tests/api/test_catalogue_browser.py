"""The adapter catalogue screen in a real browser (Debian chromium driven by Playwright).

A vendor signs in and lands on the catalogue; an administrator finds it in the
menu; both see each adapter with its signature and its latest conformance report,
in Swedish or English. An operator is sent to their own screen. axe-core must find
no serious or critical violation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.plugin_digest import plugin_digest
from gateway.core.plugin_trust import DEV_PUBLIC_KEY
from gateway.core.security.signing import load_private_key, sign_file

from . import test_console_browser as _console
from .conftest import later
from .test_console_browser import PASSWORD, Running, check_axe, new_page, shot, sign_in
from .test_homecare_browser import serve

pytestmark = pytest.mark.chromium
axe = _console.axe  # the fixtures: axe-core from npm, Chromium under Playwright
browser = _console.browser

DEV_KEY = DEV_PUBLIC_KEY.with_suffix(".key")
_COMMITTED = Path(__file__).resolve().parents[2] / "contracts" / "conformance"
NEWER = (max([datetime.fromisoformat(json.loads(p.read_text())["generated_at"])
              for p in _COMMITTED.glob("*.json")],
             default=datetime.fromisoformat("2026-12-01T09:30:00+00:00"))
         + timedelta(days=1)).isoformat()
"""The deployment's own report: a day newer than any committed one, so it is the one shown."""
CARE = {"tenants": [{"id": "vasteras", "name": "Västerås stad"}]}


@pytest.fixture
def catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "navet-dev.pub").write_bytes(DEV_PUBLIC_KEY.read_bytes())
    reports = tmp_path / "reports"
    reports.mkdir()
    report = reports / "scaip.json"
    report.write_text(json.dumps({
        "adapter": "scaip", "plugin": "alarms", "plugin_version": "0.1.0", "contract": "1.2",
        "digest": plugin_digest("plugins.alarms"), "outcome": "pass",
        "generated_at": NEWER, "checks": []}))
    sign_file(report, load_private_key(DEV_KEY))
    # settings made in code read NAVET_* too: the deployment's trust store and reports
    monkeypatch.setenv("NAVET_PLUGINS__TRUST", str(trust))
    monkeypatch.setenv("NAVET_PLUGINS__REPORTS", str(reports))
    users = [("vera", "Vera Leverantör", "vendor"), ("adam", "Adam Admin", "admin"),
             ("anna", "Anna Operatör", "operator")]
    with serve(tmp_path, CARE, [], users, FakeClock(later(3600))) as (running, _broker):
        yield running


def test_vendor_and_admin_see_adapters_signed_and_tested(
        catalogue: Running, browser: Any, axe: str) -> None:
    from playwright.sync_api import expect

    errors: list[str] = []
    page = new_page(browser, errors)
    sign_in(page, catalogue.url, user="vera", home="/console/katalog")
    expect(page.locator("h1")).to_have_text("Adapterkatalog")
    scaip = page.locator("#installed #adapter-scaip")
    expect(scaip).to_contain_text("Signerad")
    expect(scaip).to_contain_text("Godkänd")
    expect(scaip).to_contain_text(f"{NEWER[:10]}, kontrakt 1.2")
    expect(scaip).to_contain_text("Rapporten: Signerad")
    expect(scaip.locator("td").nth(1)).to_have_text("social_alarm, passive_sensor")
    expect(page.locator("#available #adapter-nyckelbo")).to_contain_text("Inte installerad")
    check_axe(page, axe, "adapter catalogue")
    shot(page, "catalogue")
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Adapter catalogue")
    expect(scaip).to_contain_text("Passed")
    assert errors == [], f"JavaScript errors on the page: {errors}"

    admin = new_page(browser, errors)
    admin.goto(f"{catalogue.url}/")  # the admin's home is another screen; the menu has this
    admin.fill("#user", "adam")
    admin.fill("#password", PASSWORD)
    admin.click("#signin")
    admin.wait_for_url(lambda url: "/signin" not in url)
    admin.get_by_role("link", name="Adapterkatalog").click()
    expect(admin).to_have_url(f"{catalogue.url}/console/katalog")
    expect(admin.locator("#installed #adapter-zigbee2mqtt")).to_contain_text("Signerad")


def test_an_operator_is_sent_to_their_own_screen(catalogue: Running, browser: Any) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, [])
    sign_in(page, catalogue.url, user="anna")
    expect(page.get_by_role("link", name="Adapterkatalog")).to_have_count(0)
    page.goto(f"{catalogue.url}/console/katalog")
    expect(page).to_have_url(f"{catalogue.url}/console/alarms")
