"""The operator's live view: ``GET /`` and its static files under ``/static``.

Plain HTML, CSS and JavaScript from ``gateway/web``; no build step and nothing
fetched from the internet, because care networks often have no route out.

While the API is open (``auth.mode: off``) the page carries a banner saying so,
put there by the server rather than by the page's script, so it shows even when
the script fails or is blocked.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
OPEN_API_BANNER = '<p id="open-api" class="open-api" role="alert" hidden>'
"""The banner's opening tag in index.html; shown by dropping ``hidden``."""

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index(request: Request) -> HTMLResponse:
    page = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    if getattr(request.app.state, "open_api_warning", None):
        page = page.replace(OPEN_API_BANNER, OPEN_API_BANNER.replace(" hidden", ""), 1)
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
