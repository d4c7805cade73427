"""The operator's live view: ``GET /`` and its static files under ``/static``.

Plain HTML, CSS and JavaScript from ``gateway/web``; no build step and nothing
fetched from the internet, because care networks often have no route out.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})
