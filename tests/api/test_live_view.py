"""The live view's files are served by the app itself, with nothing from the internet."""

from __future__ import annotations

import re

import httpx


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
