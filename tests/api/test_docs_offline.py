"""``/docs`` and ``/redoc`` work on a network without the internet.

The pages may reference only what Navet serves itself; the vendored libraries are the
pinned versions the third-party notice names, with their licences beside them; and in a
real Chromium that may reach nothing but Navet, both pages render the API.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.api.routes import docs
from tests.services import free_port, require_binary, unavailable

ROOT = Path(__file__).resolve().parents[2]
NOTICES = ROOT / "THIRD_PARTY_NOTICES.md"
PAGES = ("/docs", "/redoc")


class _Refs(HTMLParser):
    """Every URL a page makes the browser load: src, href, and url() in inline styles."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in ("src", "href", "spec-url", "srcset", "data") and value:
                self.urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        self.urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", data)


def _served(tmp_path: Path, auth: str = "off") -> Iterator[str]:
    port = free_port()
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "mqtt": {"mode": "memory"},
        "http": {"host": "127.0.0.1", "port": port}, "auth": {"mode": auth},
    }))
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config",
                             str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield url
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def navet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``navet serve`` with authentication on: the docs need no sign-in."""
    yield from _served(tmp_path_factory.mktemp("docs"), auth="local")


@pytest.mark.parametrize("page", PAGES)
def test_docs_pages_reference_only_what_navet_serves(navet_url: str, page: str) -> None:
    r = httpx.get(navet_url + page)
    assert r.status_code == 200, r.text
    refs = _Refs()
    refs.feed(r.text)
    assert refs.urls, f"{page} loads nothing? {r.text}"
    for url in refs.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{page} loads {url}"
        asset = httpx.get(navet_url + url)
        assert asset.status_code == 200, f"{page}: {url} answers {asset.status_code}"
    inline = "\n".join(refs.scripts)
    assert not re.search(r"https?://|//[a-z]", inline), f"{page} script names a host: {inline}"
    assert "'/openapi.json'" in inline or 'spec-url="/openapi.json"' in r.text
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "unsafe-inline' " not in policy.split("script-src")[1].split(";")[0]


def test_the_vendored_assets_are_served_and_the_openapi_is_public(navet_url: str) -> None:
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        r = httpx.get(f"{navet_url}/vendor/{docs.SWAGGER_UI}/{name}")
        assert r.status_code == 200 and len(r.content) > 100_000
    r = httpx.get(f"{navet_url}/vendor/{docs.REDOC}/redoc.standalone.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{navet_url}/openapi.json").json()["info"]["title"] == "Navet"
    assert httpx.get(f"{navet_url}/vendor/{docs.SWAGGER_UI}/../../app.py").status_code == 404


def test_every_vendored_library_is_pinned_licensed_and_in_the_notice() -> None:
    notice = NOTICES.read_text(encoding="utf-8")
    libraries = sorted(p for p in docs.VENDOR_DIR.iterdir() if p.is_dir())
    assert {p.name for p in libraries} >= {docs.SWAGGER_UI, docs.REDOC}
    for lib in libraries:
        package = json.loads((lib / "package.json").read_text(encoding="utf-8"))
        assert lib.name == f"{package['name']}-{package['version']}"
        assert (lib / "LICENSE").stat().st_size > 500, f"{lib.name} ships no licence"
        row = next((line for line in notice.splitlines()
                    if line.startswith(f"| {package['name']} |")), None)
        assert row is not None, f"{package['name']} is not in THIRD_PARTY_NOTICES.md"
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == package["version"] and cells[2] == package["license"], row


# --------------------------------------------------------------------------- real Chromium

RENDER_MS = 60_000  # the whole API rendered on a busy 2-core CI machine: seconds, not ms
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture
def offline_page(navet_url: str) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page that may load from Navet only; every other request fails and is listed."""
    chromium = require_binary("chromium", "apt-get install chromium", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright", "pip install playwright")
    blocked: list[str] = []
    errors: list[str] = []

    def only_navet(route: Any) -> None:
        url = route.request.url
        if url.startswith(navet_url + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("internetdisconnected")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                     timeout=30_000)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", only_navet)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.on("console", lambda msg: errors.append(msg.text)
                    if "Content Security Policy" in msg.text and "img-src" not in msg.text
                    else None)
            yield page, blocked
            assert errors == [], f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


@pytest.mark.chromium
def test_swagger_ui_renders_offline(navet_url: str, offline_page: tuple[Any, list[str]]) -> None:
    from playwright.sync_api import expect

    page, blocked = offline_page
    page.goto(f"{navet_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Navet", timeout=RENDER_MS)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/events").first) \
        .to_be_visible(timeout=RENDER_MS)
    page.locator(".opblock-summary-path", has_text="/api/v1/events").first.click()
    expect(page.locator(".opblock-body").first).to_contain_text("tenant")
    assert blocked == [], f"/docs tried to reach other hosts: {blocked}"


@pytest.mark.chromium
def test_redoc_renders_offline(navet_url: str, offline_page: tuple[Any, list[str]]) -> None:
    from playwright.sync_api import expect

    page, blocked = offline_page
    page.goto(f"{navet_url}/redoc")
    expect(page.locator(".api-info h1")).to_contain_text("Navet", timeout=RENDER_MS)
    expect(page.locator(".menu-content")).to_contain_text("List Events", timeout=RENDER_MS)
    assert blocked == [], f"/redoc tried to reach other hosts: {blocked}"
