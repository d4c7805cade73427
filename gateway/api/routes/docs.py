"""The API's documentation pages, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and ReDoc's fonts from Google),
so on a municipality's closed network they are blank. Navet serves pinned copies of both
from ``gateway/api/static/vendor/`` at ``/vendor/``, byte for byte as published on the npm
registry; their versions, licences and checksums are in ``THIRD_PARTY_NOTICES.md``. To move
to a new version: ``npm pack`` it, copy the files listed there, change the directory names
below and the notice. Nothing is built; nothing is fetched at run time.

Each page also carries a Content-Security-Policy that lets the browser load from Navet only
(ReDoc's sidebar would otherwise fetch its logo from cdn.redoc.ly), with the page's own
inline script allowed by its hash.

The pages hold no data (the API description is public), so they need no sign-in; the
assets are a static mount outside the API's authentication, like ``/static``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

VENDOR_DIR: Final = Path(__file__).resolve().parent.parent / "static" / "vendor"
VENDOR_URL: Final = "/vendor"
SWAGGER_UI: Final = "swagger-ui-dist-5.35.0"
REDOC: Final = "redoc-2.5.4"
FAVICON: Final = f"{SWAGGER_UI}/favicon-32x32.png"

OPENAPI_URL: Final = "/openapi.json"
DOCS_URL: Final = "/docs"
OAUTH2_REDIRECT_URL: Final = "/docs/oauth2-redirect"
REDOC_URL: Final = "/redoc"

SWAGGER_PARAMETERS: Final = {
    "dom_id": "#swagger-ui", "layout": "BaseLayout", "deepLinking": True,
    "showExtensions": True, "showCommonExtensions": True,
    "validatorUrl": None,  # Swagger UI would otherwise send the spec to validator.swagger.io
}


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _self_only(page: HTMLResponse) -> HTMLResponse:
    """``page`` with a policy that lets the browser load from Navet only."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(bytes(page.body).decode("utf-8")))
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'")
    return page


def _asset(request: Request, name: str) -> str:
    return f"{request.scope.get('root_path', '')}{VENDOR_URL}/{name}"


async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _self_only(get_swagger_ui_html(
        openapi_url=root + OPENAPI_URL, title="Navet API",
        swagger_js_url=_asset(request, f"{SWAGGER_UI}/swagger-ui-bundle.js"),
        swagger_css_url=_asset(request, f"{SWAGGER_UI}/swagger-ui.css"),
        swagger_favicon_url=_asset(request, FAVICON),
        oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    ))


async def oauth2_redirect(request: Request) -> HTMLResponse:
    return _self_only(get_swagger_ui_oauth2_redirect_html())


async def redoc(request: Request) -> HTMLResponse:
    return _self_only(get_redoc_html(
        openapi_url=request.scope.get("root_path", "") + OPENAPI_URL, title="Navet API",
        redoc_js_url=_asset(request, f"{REDOC}/redoc.standalone.js"),
        redoc_favicon_url=_asset(request, FAVICON), with_google_fonts=False,
    ))


def install(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and the ``/vendor`` assets to an
    app made with ``docs_url=None, redoc_url=None``."""
    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, oauth2_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
    app.mount(VENDOR_URL, StaticFiles(directory=VENDOR_DIR), name="vendor")
