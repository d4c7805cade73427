"""The live view (``/live``) and its files come from the app itself, nothing from the internet."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker


async def test_page_and_assets_are_served_locally(client: httpx.AsyncClient) -> None:
    page = await client.get("/live")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page.text)
              if a.startswith("/static/")]
    assert sorted(assets) == ["/static/console.css", "/static/live.css", "/static/live.js"]
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page.text)  # nothing from elsewhere
    for asset in assets:
        r = await client.get(asset)
        assert r.status_code == 200, asset
        assert "http://" not in r.text and "https://" not in r.text, asset


async def test_an_open_api_shows_a_banner_on_the_page(client: httpx.AsyncClient) -> None:
    page = (await client.get("/live")).text  # the fixture runs with auth.mode off
    banner = re.search(r'<p id="open-api"([^>]*)>(.*?)</p>', page, re.S)
    assert banner is not None
    assert "hidden" not in banner.group(1)
    assert "API:t är öppet" in banner.group(2) and "navet token create" in banner.group(2)


async def test_with_auth_on_the_live_view_asks_for_sign_in_and_no_banner(tmp_path: Path) -> None:
    """It used to show "error: 401" and nothing else; now it sends the person to sign in."""
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"})
    app = create_app(gateway=Gateway(settings, mqtt=MemoryBroker().client("navet")))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://navet") as client:
        live = await client.get("/live")
        assert live.status_code == 303
        assert live.headers["location"] == "/signin?next=%2Flive"
        page = (await client.get(live.headers["location"])).text
    assert 'id="user"' in page and 'type="password"' in page
    assert 'id="open-api"' not in page


async def test_with_auth_off_the_console_opens_without_sign_in_and_says_so(
        client: httpx.AsyncClient) -> None:
    root = await client.get("/")
    assert root.status_code == 303 and root.headers["location"] == "/console/alarms"
    page = (await client.get("/console/alarms")).text
    assert 'id="open-api"' in page and "auth.mode: off" in page
