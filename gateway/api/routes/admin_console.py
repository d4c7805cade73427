"""The administrator's and the auditor's screens: ``/console/admin/<resource>`` and
``/console/granskning`` (audit search).

Like every console page they hold no data: the page carries the resource's description
(gateway/api/console/admin.py) and the viewer's tenants; its script reads and writes the
``/api/v1`` routes with the session, under the same roles and tenant checks as any API
client. A person without the role gets 403 and a page that says so.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from ..console.admin import BY_NAME, OPTIONS, RESOURCES
from ..console.render import Viewer, page, to_signin, viewer_of
from ..console.screens import home_for
from ..deps import GatewayDep, tenant_names

router = APIRouter(include_in_schema=False)

ADMIN = frozenset({"admin"})
AUDIT = frozenset({"auditor", "admin"})


def _as_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


async def _tenants(gateway: Any, viewer: Viewer) -> list[dict[str, str]]:
    names = await tenant_names(gateway)
    return [{"id": t, "name": names.get(t, t)} for t in viewer.tenants if t in names]


def _refused(request: Request, viewer: Viewer) -> Response:
    return page(request, "refused.html", viewer, status_code=403, home=home_for(viewer.roles))


def _chosen(tenants: list[dict[str, str]], wanted: str | None) -> str | None:
    ids = [t["id"] for t in tenants]
    return wanted if wanted in ids else ids[0] if ids else None


@router.get("/console/admin")
async def admin_home(request: Request) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/console/admin/{RESOURCES[0].name}{query}", status_code=303)


@router.get("/console/admin/{resource}")
async def admin_screen(request: Request, gateway: GatewayDep, resource: str,
                       tenant: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    if not viewer.roles & ADMIN:
        return _refused(request, viewer)
    described = BY_NAME.get(resource)
    if described is None:
        return RedirectResponse("/console/admin", status_code=303)
    tenants = await _tenants(gateway, viewer)
    config = {"me": viewer.subject, "development": viewer.development, "tenants": tenants,
              "tenant": _chosen(tenants, tenant), "resource": described.as_json(),
              "options": OPTIONS}
    return page(request, "admin.html", viewer, messages_for_script=True,
                resource=described, resources=RESOURCES, tenants=tenants,
                tenant=config["tenant"], config_json=_as_json(config))


@router.get("/console/granskning")
async def audit_screen(request: Request, gateway: GatewayDep,
                       tenant: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    viewer = await viewer_of(request)
    if viewer is None:
        return to_signin(request)
    if not viewer.roles & AUDIT:
        return _refused(request, viewer)
    tenants = await _tenants(gateway, viewer)
    config = {"me": viewer.subject, "development": viewer.development, "tenants": tenants,
              "tenant": _chosen(tenants, tenant)}
    return page(request, "audit.html", viewer, messages_for_script=True, tenants=tenants,
                tenant=config["tenant"], config_json=_as_json(config))
