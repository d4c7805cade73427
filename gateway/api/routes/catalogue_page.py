"""The catalogue screen: ``GET /console/katalog`` (server-rendered, no script).

The adapters this deployment has and can install, as ``GET /api/v1/catalogue``
lists them, for the same roles (the API's rule is asked, not copied): who
vouches for each (signature) and what its latest conformance report says.
"""

from __future__ import annotations

import asyncio
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.core.catalogue import catalogue_for

from ..console.render import page, to_signin, viewer_of
from ..console.screens import home_for
from ..deps import GatewayDep
from ..security import roles_for

router = APIRouter(include_in_schema=False)

# Every word the screen shows for a value, as a complete message key (the message
# catalogue test finds each one in both languages).
STATUS: Final = {"loaded": "catalogue.status.loaded", "refused": "catalogue.status.refused",
                 "blocked": "catalogue.status.blocked", "failed": "catalogue.status.failed",
                 "available": "catalogue.status.available"}
SIGNATURE: Final = {"signed": "catalogue.sig.signed", "modified": "catalogue.sig.modified",
                    "untrusted": "catalogue.sig.untrusted", "invalid": "catalogue.sig.invalid",
                    "unsigned": "catalogue.sig.unsigned", "unchecked": "catalogue.sig.unchecked"}
OUTCOME: Final = {"pass": "catalogue.conf.pass", "fail": "catalogue.conf.fail"}


@router.get("/console/katalog")
async def catalogue_screen(request: Request, gateway: GatewayDep) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    allowed = roles_for("GET", "/api/v1/catalogue") or frozenset()
    if not viewer.roles & allowed:
        return RedirectResponse(home_for(viewer.roles), status_code=303)
    entries = await asyncio.to_thread(catalogue_for, gateway.plugins, gateway.settings)
    return page(request, "catalogue.html", viewer,
                installed=[e for e in entries if e.installed],
                available=[e for e in entries if not e.installed],
                status_key=STATUS, signature_key=SIGNATURE, outcome_key=OUTCOME)
