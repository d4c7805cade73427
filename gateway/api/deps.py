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

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request, status

from gateway.core.accounts import Accounts
from gateway.core.alarms import AlarmService
from gateway.core.audit import AuditLog
from gateway.core.care import Tenant as CareTenant
from gateway.core.care import tenant_care
from gateway.core.clock import Clock
from gateway.core.commands import CommandService
from gateway.core.directory import DeviceDirectory
from gateway.core.gateway import Gateway
from gateway.core.model import CATALOGUE
from gateway.core.policy.cameras import SupervisionService
from gateway.core.store import Store
from gateway.core.store.repos.events import EventRepository
from gateway.core.store.repos.frames import DeadLetterRepository
from gateway.core.store.repos.outbox import OutboxRepository

from .security import DEVELOPMENT, principal_of


def get_gateway(request: Request) -> Gateway:
    """The gateway the app's lifespan started."""
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the gateway is not running")
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]

# ---------------------------------------------------------------------- what routes may use
# Small dependencies instead of ``gateway.store``: a route names the repository or reader it
# needs, and gets only that.


def get_store(gateway: GatewayDep) -> Store:
    """The store engine, for the read/write jobs of core functions that take it."""
    return gateway.store


StoreDep = Annotated[Store, Depends(get_store)]


def get_events(gateway: GatewayDep) -> EventRepository:
    return gateway.store.events


EventsDep = Annotated[EventRepository, Depends(get_events)]


def get_outbox(gateway: GatewayDep) -> OutboxRepository:
    return gateway.store.outbox


OutboxDep = Annotated[OutboxRepository, Depends(get_outbox)]


def get_dead_letters(gateway: GatewayDep) -> DeadLetterRepository:
    return gateway.store.dead_letter_repo


DeadLettersDep = Annotated[DeadLetterRepository, Depends(get_dead_letters)]


def get_accounts(gateway: GatewayDep) -> Accounts:
    """Console accounts and sessions."""
    return Accounts(gateway.store)


AccountsDep = Annotated[Accounts, Depends(get_accounts)]


def get_alarms(gateway: GatewayDep) -> AlarmService:
    """The alarm service: operators' commands and reads of the alarm projection."""
    return gateway.alarms


AlarmsDep = Annotated[AlarmService, Depends(get_alarms)]


def get_clock(gateway: GatewayDep) -> Clock:
    return gateway.clock


ClockDep = Annotated[Clock, Depends(get_clock)]


def get_directory(gateway: GatewayDep) -> DeviceDirectory:
    """The devices Navet knows, by id and by tenant."""
    return gateway.directory


DirectoryDep = Annotated[DeviceDirectory, Depends(get_directory)]


def get_commands(gateway: GatewayDep) -> CommandService:
    """Commands to devices: policy, audit, then the adapter."""
    return gateway.commands


CommandsDep = Annotated[CommandService, Depends(get_commands)]


def get_supervision(gateway: GatewayDep) -> SupervisionService:
    """Camera checks (the camera policy decides)."""
    return gateway.supervision


SupervisionDep = Annotated[SupervisionService, Depends(get_supervision)]


def get_audit(gateway: GatewayDep) -> AuditLog:
    return gateway.audit


AuditDep = Annotated[AuditLog, Depends(get_audit)]


class CareReader:
    """Reads a tenant's care configuration off the event loop (None: not configured)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def __call__(self, tenant: str) -> CareTenant | None:
        return await asyncio.to_thread(tenant_care, self._store, tenant)


def get_care(gateway: GatewayDep) -> CareReader:
    return CareReader(gateway.store)


CareDep = Annotated[CareReader, Depends(get_care)]


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


async def tenant_names(gateway: GatewayDep) -> dict[str, str]:
    """:func:`known_tenants`, read off the event loop."""
    return await asyncio.to_thread(known_tenants, gateway)


TenantNamesDep = Annotated[dict[str, str], Depends(tenant_names)]


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
    tenants = await tenant_names(gateway)
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
