"""What a tenant has: ``/api/v1/tenants``, ``/devices``, ``/residents``.

Devices Navet has heard from but nobody has assigned to a resident are listed
with ``unassigned: true`` so an operator can find and place them.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from gateway.core.care import Grant, Housing, Sex
from gateway.core.store import DbConnection, Store
from gateway.core.store.repos.config import config_rows

from ..deps import StoreDep, TenantNamesDep, TenantScope
from ..security import principal_of

router = APIRouter(prefix="/api/v1", tags=["directory"])


class TenantOut(BaseModel):
    id: str
    name: str


class DeviceOut(BaseModel):
    id: str
    adapter: str
    address: str
    kind: str
    resident: str | None
    unassigned: bool
    last_seen: str | None
    heartbeat_s: int | None
    vendor: str | None = None
    model: str | None = None
    location: str | None = None


class ResidentOut(BaseModel):
    id: str
    label: str
    home: dict[str, Any] | None
    devices: list[str]
    sex: Sex | None = None
    birth_year: int | None = None
    housing: Housing | None = None
    grants: list[Grant] = Field(default_factory=list,
                                description="Grant decisions per technology with dates.")


@router.get("/tenants", response_model=list[TenantOut])
async def tenants(found: TenantNamesDep, request: Request) -> list[TenantOut]:
    """Tenants this caller may pick: with tokens, only the token's tenants."""
    principal = principal_of(request)
    return [TenantOut(id=k, name=v) for k, v in found.items() if principal.may_see(k)]


@router.get("/devices", response_model=list[DeviceOut])
async def devices(store: StoreDep, tenant: TenantScope) -> list[DeviceOut]:
    rows = await store.read(lambda conn: config_rows(conn, "devices", tenant.id))
    out = []
    for row in rows:
        body = json.loads(row["body"] or "{}")
        out.append(DeviceOut(
            id=row["id"], adapter=row["adapter"], address=row["address"], kind=row["kind"],
            resident=row["resident"], unassigned=row["resident"] is None,
            last_seen=row["last_seen"], heartbeat_s=row["heartbeat_s"],
            vendor=body.get("vendor"), model=body.get("model"), location=body.get("location"),
        ))
    return out


@router.get("/residents", response_model=list[ResidentOut])
async def residents(store: StoreDep, tenant: TenantScope) -> list[ResidentOut]:
    return await _residents(store, tenant.id)


@router.get("/residents/{resident}", response_model=ResidentOut,
            responses={404: {"description": "The tenant has no such resident."}})
async def resident(store: StoreDep, tenant: TenantScope, resident: str) -> ResidentOut:
    """One resident (change with ``PATCH``, remove with ``DELETE``: routes/care.py)."""
    found = [r for r in await _residents(store, tenant.id, resident) if r.id == resident]
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"tenant {tenant.id} has no resident {resident}")
    return found[0]


async def _residents(store: Store, tenant: str, only: str | None = None) -> list[ResidentOut]:
    def read(conn: DbConnection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return config_rows(conn, "residents", tenant), config_rows(conn, "devices", tenant)

    rows, devs = await store.read(read)
    out = []
    for row in rows:
        if only is not None and row["id"] != only:
            continue
        body = json.loads(row["body"] or "{}")
        out.append(ResidentOut(
            id=row["id"], label=body.get("label", ""), home=body.get("home"),
            devices=[d["id"] for d in devs if d["resident"] == row["id"]],
            sex=body.get("sex"), birth_year=body.get("birth_year"),
            housing=body.get("housing"), grants=body.get("grants") or [],
        ))
    return out
