"""The live view's files are served by the app itself, with nothing from the internet."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker


async def test_page_and_assets_are_served_locally(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(assets) == ["/static/live.css", "/static/live.js"]
    for asset in assets:
        r = await client.get(asset)
        assert r.status_code == 200, asset
        assert "http://" not in r.text and "https://" not in r.text, asset


async def test_an_open_api_shows_a_banner_on_the_page(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text  # the fixture runs with auth.mode off
    banner = re.search(r'<p id="open-api"([^>]*)>(.*?)</p>', page, re.S)
    assert banner is not None
    assert "hidden" not in banner.group(1)
    assert "The API is open" in banner.group(2) and "navet token create" in banner.group(2)


async def test_with_auth_on_the_banner_stays_hidden(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"})
    app = create_app(gateway=Gateway(settings, mqtt=MemoryBroker().client("navet")))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://navet") as client:
        page = (await client.get("/")).text
    banner = re.search(r'<p id="open-api"([^>]*)>', page)
    assert banner is not None and "hidden" in banner.group(1)
