"""A tenant's adapter instances and their state: ``GET /api/v1/adapters``, and how its
events are routed to receivers: ``GET /api/v1/routing`` (administrators).

Adapter instances come from the gateway's settings (``adapters:``), one per vendor link
of a municipality; this says which adapter each runs, what it declares (vendor, device
kinds, transports, version), whether it is running, and what it says about its vendor
link (its ``health()``, e.g. ``{"link": "down", "failures": 3}``). The routing is the
settings' ``routing:`` entry of the tenant (gateway/core/routing.py): which subscription
receives what, when, and who takes over. Read-only: both are changed in the settings, not
over the API.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from gateway.errors import NavetError

from ..deps import GatewayDep, TenantScope

router = APIRouter(prefix="/api/v1", tags=["adapters"])


class AdapterOut(BaseModel):
    id: str = Field(description="The instance id (settings: adapters[].id).")
    adapter: str = Field(description="The adapter it runs (the plugin's adapter name).")
    vendor: str | None = None
    version: str | None = None
    device_kinds: list[str] = Field(default_factory=list)
    transports: list[str] = Field(default_factory=list)
    running: bool = Field(description="The instance was started and is running.")
    health: dict[str, Any] | None = Field(
        default=None, description="What the adapter says about its vendor link, when it "
        "says anything (its health()).")
    error: str | None = Field(default=None,
                              description="Why the adapter is not available, in words.")


@router.get("/adapters", response_model=list[AdapterOut],
            summary="The tenant's adapter instances and their state")
async def adapters(gateway: GatewayDep, tenant: TenantScope) -> list[AdapterOut]:
    health = gateway.adapter_health()
    out = []
    for inst in gateway.settings.adapters:
        if inst.tenant != tenant.id:
            continue
        info: dict[str, Any] = {}
        error = None
        try:
            manifest = gateway.plugins.adapters.get(inst.adapter).manifest
            info = {"vendor": manifest.vendor, "version": manifest.version,
                    "device_kinds": [str(k) for k in manifest.device_kinds],
                    "transports": list(manifest.transports)}
        except NavetError as err:
            error = str(err)
        out.append(AdapterOut(id=inst.instance_id, adapter=inst.adapter,
                              running=inst.instance_id in gateway.hosts,
                              health=health.get(inst.instance_id), error=error, **info))
    return out


class RouteOut(BaseModel):
    name: str
    types: list[str] = Field(description="Event types or prefixes it carries; none: all.")
    kinds: list[str] = Field(description="Alarm kinds or prefixes; none: all.")
    priorities: list[str] = Field(description="Priorities; none: all.")
    to: str = Field(description="Subscription id of the primary receiver.")
    when: list[dict[str, Any]] = Field(description="Local time windows the primary is on "
                                       "duty (days, start, end); none: always.")
    fallback: str | None = Field(description="Who takes over outside 'when' or while the "
                                 "primary fails (the route's own, else the tenant's).")
    failover_after: int


@router.get("/routing", response_model=list[RouteOut],
            summary="How the tenant's events are routed to receivers")
async def routing(gateway: GatewayDep, tenant: TenantScope) -> list[RouteOut]:
    out = []
    for entry in gateway.settings.routing:
        if entry.tenant != tenant.id:
            continue
        for route in entry.routes:
            out.append(RouteOut(
                name=route.name, types=list(route.match.types), kinds=list(route.match.kinds),
                priorities=[str(p) for p in route.match.priorities], to=route.to,
                when=[w.model_dump(mode="json") for w in route.when],
                fallback=route.fallback or entry.fallback,
                failover_after=route.failover_after))
    return out
