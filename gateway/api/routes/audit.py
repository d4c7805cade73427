"""The audit log over HTTP, for auditors: entries per tenant (a resident's log extract) and
a verification of the whole hash chain. Read-only: nothing in the API changes the log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..deps import AuditDep, TenantScope

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit")
async def audit_entries(
    audit: AuditDep, tenant: TenantScope,
    resident: Annotated[str | None, Query(max_length=64)] = None,
    device: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    action: Annotated[str | None, Query(
        max_length=200, description="Entries whose action contains this, in any case "
        "(e.g. 'residents', 'unlock').")] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Entries of the tenant, newest first; ``resident`` gives a resident's log extract."""
    found = await audit.entries(tenant.id, resident=resident, device=device,
                                actor=actor, action=action, since=since, until=until,
                                limit=limit)
    return [e.as_dict() for e in found]


@router.get("/audit/verify")
async def audit_verify(audit: AuditDep, tenant: TenantScope,
                       head: Annotated[str | None, Query(max_length=64)] = None,
                       ) -> dict[str, Any]:
    """Recompute the chain (all tenants share one chain); ``head`` is a copy kept elsewhere."""
    result = await audit.verify(expect_head=head)
    return result.as_dict()
