"""``GET /api/v1/catalogue``: the adapters this deployment has and can install.

Each with vendor, device kinds, protocol, contract range, version, signature status
(docs/signing.md) and its latest conformance report (docs/municipalities.md). For
administrators and vendors; the same list ``navet catalogue --json`` prints.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter

from gateway.core.catalogue import CatalogueEntry, catalogue_for

from ..deps import GatewayDep

router = APIRouter(prefix="/api/v1", tags=["catalogue"])


@router.get("/catalogue", response_model=list[CatalogueEntry])
async def catalogue(gateway: GatewayDep) -> list[CatalogueEntry]:
    """Installed adapters first, then installable ones, each by name."""
    # reading and hashing the plugins' files and reports is file I/O: off the event loop
    return await asyncio.to_thread(catalogue_for, gateway.plugins, gateway.settings)
