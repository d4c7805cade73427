"""``GET /api/v1/residents/{resident}/export``: everything Navet holds about one resident.

For a data subject's request for access; admin only (gateway/api/security.py),
tenant-scoped like every route. The personal number is decrypted here and
nowhere else in the API.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, status

from gateway.core.privacy import export_resident

from ..deps import GatewayDep, StoreDep, TenantScope

router = APIRouter(prefix="/api/v1", tags=["privacy"])


@router.get("/residents/{resident}/export")
async def export(gateway: GatewayDep, store: StoreDep, tenant: TenantScope,
                 resident: str) -> dict[str, Any]:
    found = await asyncio.to_thread(export_resident, store, gateway.pii, tenant.id,
                                    resident)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            f"no resident {resident!r} in tenant {tenant.id!r}")
    return found
