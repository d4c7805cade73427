"""Live stream of a tenant's events as Server-Sent Events: ``GET /api/v1/stream``.

Each event goes out as ``id: <seq>``, ``event: <type>``, ``data: <CloudEvent>``,
made from the JSON the store wrote for it (serialised once, not validated again per
client: :func:`gateway.core.model.cloudevents.stored_cloudevent`).
The stream always reads from the store, never from an in-memory fan-out: it
sends what is stored after the client's cursor, then waits on the gateway's
notifier for the next commit and reads again. So a client that reconnects with
``Last-Event-ID`` (browsers do this themselves) gets exactly what it missed,
with no gap and no repeat, and a slow client cannot make the gateway buffer.

``device.heartbeat`` is left out unless asked for by ``type``: heartbeats are
kept as last-seen, not fanned out (see DESIGN.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway.core.gateway import Gateway
from gateway.core.store.repos.events import EventRepository
from gateway.sdk.model.cloudevents import stored_cloudevent

from ..deps import EventsDep, GatewayDep, Tenant, TenantScope, resolve_types

router = APIRouter(prefix="/api/v1", tags=["stream"])

HEARTBEAT_S = 15
"""Seconds between comment lines that keep proxies from closing an idle stream."""
BATCH = 500
"""Events read from the store per query while catching up."""
WAKE_S = 30.0
"""Re-read the store at least this often even without a notification (belt and braces)."""


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "Server-Sent Events; data is CloudEvents 1.0 JSON."}},
)
async def stream(
    gateway: GatewayDep,
    events: EventsDep,
    tenant: TenantScope,
    type: Annotated[list[str], Query(description="Event types or prefixes. Repeatable.")] = [],  # noqa: B006  # repeatable query param
    exclude: Annotated[list[str], Query(description="Types or prefixes to leave out.")] = [],  # noqa: B006
    after: Annotated[
        int | None, Query(ge=0, description="Start after this seq (Last-Event-ID wins).")
    ] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    if not type and "device.heartbeat" not in exclude:
        exclude = [*exclude, "device.heartbeat"]
    types = resolve_types(type, exclude)
    cursor = after
    if last_event_id:
        try:
            cursor = int(last_event_id)
        except ValueError as err:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"Last-Event-ID must be an event seq (an integer), got {last_event_id!r}",
            ) from err
    if cursor is None:
        cursor = gateway.notifier.seq  # a new client starts with what happens from now on
    return EventSourceResponse(
        _events(gateway, events, tenant, types, cursor), ping=HEARTBEAT_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    gateway: Gateway, events: EventRepository, tenant: Tenant, types: list[str], cursor: int
) -> AsyncIterator[ServerSentEvent]:
    notifier = gateway.notifier
    gateway.metrics.stream_clients.inc()
    try:
        while True:
            # Take the mark before reading: a commit that lands during the read
            # moves the notifier past it, so the wait below returns at once.
            mark = notifier.seq
            batch = await asyncio.to_thread(partial(_page, events, tenant.id, types, cursor))
            for seq, body in batch:
                ce = stored_cloudevent(body)
                yield ServerSentEvent(
                    data=json.dumps(ce, separators=(",", ":")), event=ce["type"], id=str(seq),
                )
                cursor = seq
            if len(batch) == BATCH:
                continue
            # Events of other tenants or types also wake us; they cost one empty read.
            cursor = max(cursor, mark)
            await notifier.wait_past(mark, timeout=WAKE_S)
    finally:
        gateway.metrics.stream_clients.dec()


def _page(events: EventRepository, tenant: str, types: list[str],
          after: int) -> list[tuple[int, str]]:
    return events.bodies(tenant, types=types, after_seq=after, limit=BATCH)
