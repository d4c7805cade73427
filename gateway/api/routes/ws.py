"""Live stream of a tenant's events over WebSocket: ``/api/v1/stream/ws``.

The WebSocket twin of the SSE stream (:mod:`.stream`), for consoles and alarm
centre systems that prefer one socket to an event source. Same filters
(``tenant``, ``type``/``exclude``, plus ``resident``), same cursor: each text
frame is one JSON object ::

    {"id": "<seq>", "type": "<event type>", "data": <CloudEvent 1.0>}

where ``id`` is the store sequence, exactly the SSE ``id:``. A client that
loses its connection reconnects with ``?after=<last id it handled>`` (or
``last_event_id=``; browsers cannot set headers on a WebSocket) and gets
exactly the events it missed, in order, then the live ones: like the SSE
stream, this one always reads from the store after the cursor and waits on
the gateway's notifier, so there is no gap, no repeat, and no per-client
buffer in the gateway. Without a cursor it starts with what happens from now.

Refusals (unknown tenant, unknown type) close the socket with code 1008 and a
reason naming what was wrong. The client's own messages are read and ignored
(only to notice a close). ``device.heartbeat`` is left out unless asked for by
``type``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, WebSocket, WebSocketDisconnect, status

from gateway.core.gateway import Gateway
from gateway.sdk.model.cloudevents import stored_cloudevent

from ..deps import get_events, resolve_types, tenant_names
from .stream import BATCH, WAKE_S

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["stream"])

POLICY_VIOLATION = status.WS_1008_POLICY_VIOLATION


@router.websocket("/stream/ws")
async def stream_ws(
    websocket: WebSocket,
    tenant: Annotated[str, Query(description="Tenant whose events to stream.")],
    type: Annotated[list[str], Query(description="Event types or prefixes. Repeatable.")] = [],  # noqa: B006  # repeatable query param
    exclude: Annotated[list[str], Query(description="Types or prefixes to leave out.")] = [],  # noqa: B006
    resident: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[int | None, Query(ge=0, description="Resume after this seq.")] = None,
    last_event_id: Annotated[str | None, Query(description="Same as 'after'.")] = None,
) -> None:
    gateway: Gateway | None = getattr(websocket.app.state, "gateway", None)
    # "From now on" means from before the handshake completes: an event stored
    # while the checks below run is already the client's.
    now = gateway.notifier.seq if gateway is not None else 0
    await websocket.accept()
    if gateway is None:
        await websocket.close(status.WS_1011_INTERNAL_ERROR, "the gateway is not running")
        return
    try:
        tenants = await tenant_names(gateway)
        if tenant not in tenants:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown tenant {tenant!r}")
        if not type and "device.heartbeat" not in exclude:
            exclude = [*exclude, "device.heartbeat"]
        types = resolve_types(type, exclude)
        cursor = after
        if last_event_id is not None:
            try:
                cursor = int(last_event_id)
            except ValueError as err:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, "last_event_id must be an event "
                                    f"seq (an integer), got {last_event_id!r}") from err
    except HTTPException as err:
        await websocket.close(POLICY_VIOLATION, str(err.detail)[:120])
        return
    if cursor is None:
        cursor = now

    sender = asyncio.create_task(_send(websocket, gateway, tenant, types, resident, cursor))
    listener = asyncio.create_task(_until_closed(websocket))
    gateway.metrics.stream_clients.inc()
    try:
        await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gateway.metrics.stream_clients.dec()
        for task in (sender, listener):
            task.cancel()
        for task in (sender, listener):
            try:
                await task
            except (asyncio.CancelledError, WebSocketDisconnect, OSError, RuntimeError):
                pass  # the client went away mid-send; nothing to tell it
            except Exception:
                log.exception("WebSocket stream of tenant %s failed", tenant)
                with contextlib.suppress(Exception):
                    await websocket.close(status.WS_1011_INTERNAL_ERROR, "stream failed")


async def _until_closed(websocket: WebSocket) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send(websocket: WebSocket, gateway: Gateway, tenant: str, types: list[str],
                resident: str | None, cursor: int) -> None:
    events, notifier = get_events(gateway), gateway.notifier
    while True:
        mark = notifier.seq  # before the read: a commit during the read wakes the wait at once
        after = cursor
        batch = await asyncio.to_thread(lambda: events.bodies(
            tenant, types=types, resident=resident, after_seq=after, limit=BATCH))  # noqa: B023  # awaited here, before the loop moves on
        for seq, body in batch:  # the stored JSON, sent on as a CloudEvent (serialised once)
            ce = stored_cloudevent(body)
            frame: dict[str, Any] = {"id": str(seq), "type": ce["type"], "data": ce}
            await websocket.send_text(json.dumps(frame, separators=(",", ":")))
            cursor = seq
        if len(batch) == BATCH:
            continue
        cursor = max(cursor, mark)
        await notifier.wait_past(mark, timeout=WAKE_S)
