"""Where the console's static files live (served under ``/static``).

Plain CSS and JavaScript from ``gateway/web``; no build step and nothing fetched
from the internet, because care networks often have no route out. The live view
itself is a console page at ``/live`` behind sign-in (routes/console.py); while
the API is open (``auth.mode: off``) every console page carries a banner saying
so, rendered by the server, so it shows even when the script fails or is blocked.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"

router = APIRouter(include_in_schema=False)
