"""The HTTP API: ``create_app(settings)`` builds the FastAPI application.

The lifespan owns the gateway: it creates and starts one from ``settings``,
or starts (unless started already) and stops the one it is given (tests,
``navet serve`` and ``navet demo``), and keeps it
on ``app.state.gateway`` where :func:`gateway.api.deps.get_gateway` finds it.
Serve with ``uvicorn --factory gateway.api.app:create_app``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from gateway import __version__
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings

from .audit_trail import AuditTrail
from .routes import (
    adapters,
    admin_console,
    alarm_map,
    alarms,
    config,
    console,
    directory,
    docs,
    events,
    fhir,
    followup,
    followup_page,
    health,
    ingress,
    live_view,
    privacy,
    reports,
    signin,
    staff,
    stream,
    subscriptions,
    supervision,
    ws,
)
from .routes import audit as audit_routes
from .routes import care as care_routes
from .routes import catalogue as catalogue_routes
from .routes import catalogue_page as catalogue_screen
from .security import authenticate, build_verifier, open_api_warning

log = logging.getLogger(__name__)

DESCRIPTION = """\
Navet is a vendor-neutral integration gateway for welfare technology.
Every data query is scoped to one tenant (municipality) by the `tenant` parameter.
Events are contract v1 envelopes; the live stream sends them as CloudEvents 1.0.
"""


def create_app(settings: Settings | None = None, *, gateway: Gateway | None = None) -> FastAPI:
    """Build the app. Without ``gateway``, one is built from ``settings`` at startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.open_api_warning:  # on every start, not once: it must not be missed
            log.warning("%s", app.state.open_api_warning)
        gw = gateway if gateway is not None else Gateway(chosen)
        if not gw.started:  # navet serve and demo start it first, to report a failure plainly
            await gw.start()
        collector = health.StoreCollector(gw.store.dead_letter_repo)
        gw.metrics.registry.register(collector)
        app.state.gateway = gw
        try:
            yield
        finally:
            app.state.gateway = None
            gw.metrics.registry.unregister(collector)
            await gw.stop()

    app = FastAPI(
        title="Navet", version=__version__, description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url=docs.OPENAPI_URL,  # docs.install, below
        dependencies=[Depends(authenticate)],  # who may call what: gateway/api/security.py
    )
    app.state.gateway = None
    chosen = gateway.settings if gateway is not None else settings or Settings()
    app.state.verifier = build_verifier(chosen)
    app.state.open_api_warning = open_api_warning(chosen)  # None unless auth.mode is off
    for module in (health, events, stream, directory, reports, config, ingress, live_view):
        app.include_router(module.router)
    app.include_router(subscriptions.router)
    app.include_router(adapters.router)  # adapter instances and their state
    app.include_router(alarms.router)
    app.include_router(alarm_map.router)  # a GPS alarm's position, fences and track
    app.include_router(staff.router)
    app.include_router(supervision.router)
    app.include_router(care_routes.router)  # the care configuration item by item
    app.include_router(fhir.router)  # FHIR R5 facade at /fhir/r5 (docs/fhir.md)
    app.include_router(ws.router)
    app.include_router(privacy.router)
    app.include_router(audit_routes.router)
    app.include_router(followup.router)  # follow-up figures (docs/followup.md)
    app.include_router(catalogue_routes.router)  # adapters: signed? tested? (navet catalogue)
    app.include_router(catalogue_screen.router)  # the catalogue screen, /console/katalog
    app.include_router(followup_page.router)  # the follow-up screen, /console/uppfoljning
    app.include_router(signin.router)  # sign-in, sign-out, language (gateway/api/console)
    app.include_router(console.router)
    app.include_router(admin_console.router)  # administration and audit search
    app.add_middleware(AuditTrail)  # every state-changing call leaves an audit entry
    app.mount("/static", StaticFiles(directory=live_view.WEB_DIR), name="static")
    docs.install(app)  # /docs and /redoc with their assets served by Navet, not a CDN
    return app
