"""Query stored events: ``GET /api/v1/events`` and ``GET /api/v1/events/{id}``.

Items are the plain Navet envelope (contract v1) plus ``seq``, the store's
position. ``seq`` is the cursor: pass the response's ``next`` as ``after`` to
read on; the same numbers are the ids of the live stream, so a client can
switch between paging and streaming without gaps.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from gateway.core.store import StoredEvent

from ..deps import EventsDep, TenantScope, resolve_types

router = APIRouter(prefix="/api/v1/events", tags=["events"])


def event_json(item: StoredEvent) -> dict[str, Any]:
    return {"seq": item.seq, **item.event.model_dump(mode="json")}


class EventPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="Events (Navet envelope plus 'seq').")
    next: int | None = Field(
        description="Pass as 'after' to read the following page; null when nothing follows "
        "yet (ascending order) or for newest-first reads."
    )


@router.get("", response_model=EventPage)
async def list_events(
    events: EventsDep,
    tenant: TenantScope,
    type: Annotated[
        list[str],
        Query(description="Event type or prefix ending in '.', e.g. 'alarm.'. Repeatable."),
    ] = [],  # noqa: B006  # FastAPI copies query defaults; a list is how repeatable params read
    exclude: Annotated[list[str], Query(description="Types or prefixes to leave out.")] = [],  # noqa: B006
    resident: str | None = None,
    device: str | None = None,
    alarm: str | None = None,
    since: Annotated[AwareDatetime | None, Query(description="Event time >= since.")] = None,
    until: Annotated[AwareDatetime | None, Query(description="Event time < until.")] = None,
    after: Annotated[int | None, Query(ge=0, description="Only events with seq > after.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    order: Literal["asc", "desc"] = "asc",
) -> EventPage:
    types = resolve_types(type, exclude)
    items = await asyncio.to_thread(lambda: events.query(
        tenant.id, types=types, resident=resident, device=device, alarm=alarm,
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
        after_seq=after, limit=limit, newest_first=order == "desc",
    ))
    more = order == "asc" and len(items) == limit
    return EventPage(items=[event_json(i) for i in items], next=items[-1].seq if more else None)


@router.get("/{event_id}")
async def get_event(events: EventsDep, tenant: TenantScope, event_id: str) -> dict[str, Any]:
    item = await asyncio.to_thread(events.get, tenant.id, event_id)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no event {event_id!r} in {tenant.id}")
    return event_json(item)
