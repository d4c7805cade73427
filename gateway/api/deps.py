"""Request dependencies shared by every router: the running gateway and the tenant scope.

Tenant resolution lives in exactly one place, :func:`tenant_scope`: the required
``tenant`` query parameter, which must be one of the caller's token's tenants.
:func:`gateway.api.security.authenticate` checks the same parameter before any
route runs; the scope checks it again, on the value the route actually uses, so
no route that takes a :data:`TenantScope` can act for another tenant whatever
the query string looks like. A route whose tenants come from the body (the care
configuration) checks each of them itself, through the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status

from gateway.core.gateway import Gateway
from gateway.core.model import CATALOGUE

from .security import DEVELOPMENT, principal_of


def get_gateway(request: Request) -> Gateway:
    """The gateway the app's lifespan started."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the gateway is not running")
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def known_tenants(gateway: Gateway) -> dict[str, str]:
    """Tenant id -> display name, from the care configuration and the settings.

    A tenant exists once it is configured (care configuration) or has an
    adapter instance or subscription in the settings; events can only arrive
    for such tenants, so nothing is hidden by this list.
    """
    names = {row["id"]: row["name"] for row in gateway.store.rows("tenants")}
    settings = gateway.settings
    for tenant in [a.tenant for a in settings.adapters] + [
            s.tenant for s in settings.subscriptions]:
        names.setdefault(tenant, tenant)
    return dict(sorted(names.items()))


@dataclass(frozen=True, slots=True)
class Tenant:
    """The tenant a request may see. Every data query filters on ``id``."""

    id: str
    name: str


async def tenant_scope(
    gateway: GatewayDep,
    request: Request,
    tenant: Annotated[
        str, Query(description="Tenant (municipality) whose data to read or change.",
                   examples=["vasteras"])
    ],
) -> Tenant:
    if not principal_of(request).may_see(tenant):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            f"the token is not valid for tenant {tenant!r}")
    tenants = await gateway.store.read(lambda conn: known_tenants(gateway))
    if tenant not in tenants:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown tenant {tenant!r}")
    return Tenant(tenant, tenants[tenant])


TenantScope = Annotated[Tenant, Depends(tenant_scope)]


def resolve_types(include: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """Expand type filters (exact types or prefixes such as ``alarm.``) to catalogue types.

    Returns ``[]`` for "every type". Unknown types are refused with 422 so a
    typo never silently returns an empty list.
    """

    def expand(pattern: str) -> set[str]:
        if pattern.endswith("."):
            found = {t for t in CATALOGUE if t.startswith(pattern)}
        else:
            found = {pattern} if pattern in CATALOGUE else set()
        if not found:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                f"type {pattern!r} is neither an event type of the catalogue nor a prefix of"
                " one (prefixes end with '.', e.g. 'alarm.')",
            )
        return found

    if not exclude:
        return sorted(set().union(*(expand(p) for p in include))) if include else []
    chosen = set().union(*(expand(p) for p in include)) if include else set(CATALOGUE)
    chosen -= set().union(*(expand(p) for p in exclude))
    if not chosen:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the type filters exclude every event type"
        )
    return sorted(chosen)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a request: a staff or operator id within the request's tenant.

    With authentication it is the token's subject; with ``auth.mode: off``
    (development) it is read from the ``X-Navet-Actor`` header. Policies always
    decide on this id, never on the body.
    """

    id: str
    tenant: str


async def current_actor(
    tenant: TenantScope,
    request: Request,
    x_navet_actor: Annotated[
        str | None,
        Header(description="Development (auth off) only: the staff or operator id making "
               "the call. With authentication the token's subject is the actor.",
               max_length=64),
    ] = None,
) -> Actor:
    principal = principal_of(request)
    if principal is not DEVELOPMENT:  # authenticated: who calls is the token's subject
        return Actor(principal.subject, tenant.id)
    if not x_navet_actor:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                            "this call needs to know who makes it: send X-Navet-Actor")
    return Actor(x_navet_actor, tenant.id)


ActorDep = Annotated[Actor, Depends(current_actor)]
