"""Where the console's static files live (served under ``/static``) and the live view's banner.

Plain HTML, CSS and JavaScript from ``gateway/web``; no build step and nothing
fetched from the internet, because care networks often have no route out. The
live view itself is served at ``/live`` behind sign-in (routes/console.py).

While the API is open (``auth.mode: off``) the page carries a banner saying so,
put there by the server rather than by the page's script, so it shows even when
the script fails or is blocked.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
OPEN_API_BANNER = '<p id="open-api" class="open-api" role="alert" hidden>'
"""The banner's opening tag in index.html; shown by dropping ``hidden``."""

router = APIRouter(include_in_schema=False)
