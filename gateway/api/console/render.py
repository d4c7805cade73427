"""Who is looking at a console page, and rendering a page for them.

:func:`viewer_of` finds the person behind a page request: the session the
cookie names (gateway/core/accounts.py), or, with ``auth.mode: off``
(development), a developer who sees every tenant. Pages call it and send
whoever has no session to the sign-in page, with where they were going.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request

from gateway.core.security.tokens import ROLES

from ..deps import tenant_names
from ..security import SESSION_COOKIE, find_session
from .i18n import LANGUAGES, Translator, language_of
from .screens import screens_for

TEMPLATES: Final = Path(__file__).resolve().parent.parent.parent / "web" / "templates"
SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    # nothing from elsewhere: no CDN, no inline script; frames of the console nowhere
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(
    enabled_extensions=("html",), default_for_string=True), trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True, slots=True)
class Viewer:
    subject: str
    name: str
    roles: frozenset[str]
    tenants: tuple[str, ...]
    csrf: str
    development: bool = False


async def viewer_of(request: Request) -> Viewer | None:
    gateway = getattr(request.app.state, "gateway", None)
    if getattr(request.app.state, "verifier", None) is None:  # auth off: development
        tenants: list[str] = []
        if gateway is not None:
            tenants = list(await tenant_names(gateway))
        return Viewer("developer", "developer", frozenset(ROLES), tuple(tenants), "",
                      development=True)
    session = await find_session(request)
    if session is None:
        return None
    return Viewer(session.subject, session.name, frozenset(session.roles), session.tenants,
                  session.csrf)


def to_signin(request: Request) -> RedirectResponse:
    """Off to sign in, coming back here afterwards; "expired" when a cookie was there."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    why = "&why=expired" if request.cookies.get(SESSION_COOKIE) else ""
    response = RedirectResponse(f"/signin?next={quote(target, safe='')}{why}", status_code=303)
    if why:
        response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def safe_next(target: str | None) -> str | None:
    """Only a path of this site (never ``//host`` or a URL): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def page(request: Request, template: str, viewer: Viewer | None, *, status_code: int = 200,
         messages_for_script: bool = False, **context: Any) -> HTMLResponse:
    lang = language_of(request)
    t = Translator(lang)
    nav = screens_for(viewer.roles) if viewer else []
    html = _env.get_template(template).render(
        t=t, lang=lang, languages=LANGUAGES, viewer=viewer, nav=nav,
        path=request.url.path, here=request.url.path + (
            f"?{request.url.query}" if request.url.query else ""),
        open_api=bool(getattr(request.app.state, "open_api_warning", None)),
        messages_json=json.dumps(t.messages, ensure_ascii=False).replace("</", "<\\/")
        if messages_for_script else None,
        **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
