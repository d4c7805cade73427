"""What went in and what went wrong: ``/api/v1/summary`` and ``/api/v1/dead-letters``.

A dead letter is a frame no adapter could turn into valid events; it is kept
with the reason so a person can fix the device or the adapter and replay it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.core.model import CATALOGUE

from ..deps import DeadLettersDep, EventsDep, TenantScope

router = APIRouter(prefix="/api/v1", tags=["reports"])


class Summary(BaseModel):
    tenant: str
    total: int
    counts: dict[str, int] = Field(description="Stored events by type.")


class DeadLetter(BaseModel):
    id: int
    adapter: str
    transport: str
    address: str = Field(description="Where the frame came from (topic, peer, path).")
    received: str
    reason: str
    frame: str = Field(description="Reference (sha256) of the kept raw frame.")
    payload: str = Field(description="The raw frame as text (invalid UTF-8 replaced).")


@router.get("/summary", response_model=Summary)
async def summary(events: EventsDep, tenant: TenantScope) -> Summary:
    counts = await asyncio.to_thread(events.counts, tenant.id)
    return Summary(tenant=tenant.id, total=sum(counts.values()), counts=counts)


@router.get("/dead-letters", response_model=list[DeadLetter])
async def dead_letters(
    dead: DeadLettersDep,
    tenant: TenantScope,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeadLetter]:
    """Newest first."""
    rows = await asyncio.to_thread(dead.list, tenant.id, limit)
    return [DeadLetter.model_validate(r) for r in rows]


@router.get("/event-types")
async def event_types() -> dict[str, str]:
    """The contract's event catalogue: type -> what it means."""
    return {t: meaning for t, (_, meaning) in CATALOGUE.items()}
