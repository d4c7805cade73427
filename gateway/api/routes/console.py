"""The console's pages: ``/`` (to sign-in, then the person's home), the screens, ``/live``.

Every page finds its viewer (:func:`gateway.api.console.render.viewer_of`) and
sends whoever has none to the sign-in page. A page holds no data: its script
reads the ``/api/v1`` routes with the session cookie, so what a person sees is
exactly what the API's roles and tenants allow them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.core.care import tenant_care
from gateway.core.model import AlarmOutcome, Finding
from gateway.core.policy.cameras import ROLE as CAMERA_ROLE

from ..console.render import SECURITY_HEADERS, page, to_signin, viewer_of
from ..console.screens import home_for
from ..deps import GatewayDep, get_store, tenant_names

router = APIRouter(include_in_schema=False)


@router.get("/")
async def root(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return RedirectResponse("/signin", status_code=303)
    return RedirectResponse(home_for(viewer.roles), status_code=303)


@router.get("/console/home")
async def home(request: Request) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    roles = ", ".join(sorted(viewer.roles))
    return page(request, "home.html", viewer, roles=roles,
                has_screen=home_for(viewer.roles) != "/console/home")


@router.get("/console/alarms")
async def alarm_queue(request: Request, gateway: GatewayDep) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    if "operator" not in viewer.roles:
        return RedirectResponse(home_for(viewer.roles), status_code=303)
    names = await tenant_names(gateway)

    def chains(conn: Any) -> dict[str, dict[str, Any]]:
        """Each tenant's alarm chain, and the chain a resident's plan gives a missed dose."""
        out: dict[str, dict[str, Any]] = {}
        for tenant in viewer.tenants:
            care = tenant_care(get_store(gateway), tenant)
            out[tenant] = {
                "receivers": list(care.alarms.receivers) if care else [],
                "medication": {p.resident: list(p.medication.receivers)
                               for p in (care.plans if care else [])
                               if p.medication and p.medication.receivers},
            }
        return out

    routing = await get_store(gateway).read(chains)
    console = gateway.settings.console
    config = {
        "me": viewer.subject,
        "development": viewer.development,
        "tenants": [{"id": t, "name": names.get(t, t), **routing.get(t, {})}
                    for t in viewer.tenants if t in names],
        "map_tiles": console.map_tiles or "",
        "map_attribution": console.map_attribution,
    }
    return with_tiles(gateway, page(
        request, "alarms.html", viewer, messages_for_script=True,
        outcomes=[str(o) for o in AlarmOutcome],
        config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/")))


def with_tiles(gateway: Any, response: Response) -> Response:
    """Let a page with GPS maps load images from the configured tile server, and only
    images: scripts, styles and everything else stay Navet's own."""
    origin = tile_origin(gateway.settings.console.map_tiles)
    if origin:
        response.headers["Content-Security-Policy"] = SECURITY_HEADERS[
            "Content-Security-Policy"].replace("img-src 'self' data:",
                                               f"img-src 'self' data: {origin}")
    return response


def tile_origin(template: str | None) -> str | None:
    """The origin of a configured tile URL (None for none, or for a path on Navet itself)."""
    if not template or template.startswith("/"):
        return None
    scheme, _, rest = template.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@router.get("/console/hemtjanst")
async def home_care(request: Request, gateway: GatewayDep) -> Response:
    """Home care on the phone: my visits, my doors, tonight's camera checks, my alarms."""
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    if "staff" not in viewer.roles:
        return RedirectResponse(home_for(viewer.roles), status_code=303)
    names = await tenant_names(gateway)

    def mine(conn: Any) -> list[dict[str, Any]]:
        """The tenants where the viewer is on the staff, and the camera schedules they may
        use there (night supervision role); the camera policy still decides each check."""
        out: list[dict[str, Any]] = []
        for tenant in viewer.tenants:
            care = tenant_care(get_store(gateway), tenant)
            member = next((s for s in care.staff if s.id == viewer.subject), None) \
                if care else None
            if care is None or member is None:
                continue
            labels = {r.id: r.label for r in care.residents}
            checks = [{"resident": s.resident, "label": labels.get(s.resident, ""),
                       "windows": [{"start": f"{w.start:%H:%M}", "end": f"{w.end:%H:%M}"}
                                   for w in s.windows],
                       "max_session_s": s.max_session_s}
                      for s in care.supervision] if CAMERA_ROLE in member.roles else []
            out.append({"id": tenant, "name": names.get(tenant, tenant),
                        "label": member.label, "cameras": checks})
        return out

    config = {"me": viewer.subject, "development": viewer.development,
              "tenants": await get_store(gateway).read(mine),
              "map_tiles": gateway.settings.console.map_tiles or "",
              "map_attribution": gateway.settings.console.map_attribution}
    return with_tiles(gateway, page(
        request, "hemtjanst.html", viewer, messages_for_script=True,
        outcomes=[str(o) for o in AlarmOutcome], findings=[str(f) for f in Finding],
        config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/")))


@router.get("/live")
async def live(request: Request) -> Response:
    """The event log (the first view Navet had), behind the same sign-in."""
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    return page(request, "live.html", viewer, messages_for_script=True)
