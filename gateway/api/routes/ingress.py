"""Webhook ingress for vendor clouds: ``POST /ingress/{instance_id}/{path}``.

An adapter instance mounts handlers with ``host.add_webhook(path, handler)``;
they land in ``gateway.webhooks["<instance_id>/<path>"]``. The handler gets a
:class:`gateway.WebhookRequest` (no web framework in adapters) and returns a
:class:`gateway.WebhookResponse`, something JSON-able or ``None`` (204).

The body is read here, under a size limit and a deadline, before the handler
sees it, so no adapter can be made to buffer an unbounded upload or wait on a
slow one. A store that cannot write answers 503, which makes the vendor cloud
send again rather than lose it.

One source address may have at most ``MAX_IN_FLIGHT_PER_SOURCE`` requests in
progress (more get 429 with ``Retry-After``), all sources together
``MAX_IN_FLIGHT`` (503): a client holding many slow uploads open cannot take
the ingress from the vendor clouds. Every refusal is counted on ``/metrics`` as
``navet_listener_refused_total{listener="http/ingress", reason}`` and logged
without flooding (gateway.core.intake.RefusalLog).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from gateway.core.intake import RefusalLog
from gateway.errors import NavetError, StoreUnavailableError
from gateway.sdk.webhooks import Headers, WebhookRequest, WebhookResponse

from ..deps import GatewayDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingress"])

MAX_BODY_BYTES = 256 * 1024
BODY_TIMEOUT_S = 10.0
"""The whole body must arrive within this (a vendor cloud sends it at once)."""
MAX_IN_FLIGHT_PER_SOURCE = 32
MAX_IN_FLIGHT = 256
LISTENER = "http/ingress"


class IngressGuard:
    """Requests in progress per source address, and the refusals of the ingress."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        self.refusals = RefusalLog(LISTENER, adapter="ingress", tenant="", instance="",
                                   transport="http", sink=self, clock=gateway.clock)
        self.in_flight: Counter[str] = Counter()

    def listener_refused(self, listener: str, reason: str, count: int = 1) -> None:
        self.gateway.metrics.listener_refused.labels(listener, reason).inc(count)

    def enter(self, source: str) -> str | None:
        """Take a slot for ``source`` (None), or say which limit refuses it."""
        if self.in_flight[source] >= MAX_IN_FLIGHT_PER_SOURCE:
            return "source_busy"
        if self.in_flight.total() >= MAX_IN_FLIGHT:
            return "ingress_busy"
        self.in_flight[source] += 1
        return None

    def leave(self, source: str) -> None:
        self.in_flight[source] -= 1
        if self.in_flight[source] <= 0:
            del self.in_flight[source]


def _guard(request: Request, gateway: Any) -> IngressGuard:
    guard: IngressGuard | None = getattr(request.app.state, "ingress_guard", None)
    if guard is None or guard.gateway is not gateway:  # one per running gateway
        guard = request.app.state.ingress_guard = IngressGuard(gateway)
    return guard


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"body of {declared} bytes exceeds {limit} bytes"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # chunked uploads have no Content-Length
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"body exceeds {limit} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _webhook_request(request: Request, body: bytes, path: str) -> WebhookRequest:
    """The framework-neutral request an adapter's handler gets (body already read)."""
    return WebhookRequest(
        body=body, headers=Headers(request.headers.items()), method=request.method,
        path=path, query=dict(request.query_params),
        client=request.client.host if request.client is not None else None)


@router.post("/ingress/{instance_id}/{path:path}")
async def ingress(
    gateway: GatewayDep, request: Request, instance_id: str, path: str
) -> Response:
    guard = _guard(request, gateway)
    source = request.client.host if request.client is not None else "unknown"
    handler: Callable[[Any], Awaitable[Any]] | None = gateway.webhooks.get(
        f"{instance_id}/{path.strip('/')}"
    )
    if handler is None:
        guard.refusals.refuse("unknown_webhook", source, detail=f"{instance_id}/{path}")
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no webhook {path!r} on adapter instance {instance_id!r}"
        )
    busy = guard.enter(source)
    if busy is not None:
        guard.refusals.refuse(busy, source, detail=f"{instance_id}/{path}")
        limit = MAX_IN_FLIGHT_PER_SOURCE if busy == "source_busy" else MAX_IN_FLIGHT
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS if busy == "source_busy"
            else status.HTTP_503_SERVICE_UNAVAILABLE,
            f"{limit} requests already in progress" + (
                f" from {source}" if busy == "source_busy" else ""),
            headers={"Retry-After": "1"},
        )
    try:
        return await _take(request, guard, source, handler, instance_id, path)
    finally:
        guard.leave(source)


async def _take(request: Request, guard: IngressGuard, source: str,
                handler: Callable[[Any], Awaitable[Any]], instance_id: str,
                path: str) -> Response:
    try:
        body = await asyncio.wait_for(_read_limited(request, MAX_BODY_BYTES), BODY_TIMEOUT_S)
    except ClientDisconnect:
        # the sender hung up mid-request: nothing was read, so nothing was accepted;
        # a vendor that gets no answer sends again
        log.info("webhook sender for %s/%s disconnected before its body arrived",
                 instance_id, path)
        return Response(status_code=499)
    except TimeoutError:
        guard.refusals.refuse("body_timeout", source,
                              detail=f"body not complete within {BODY_TIMEOUT_S}s")
        raise HTTPException(status.HTTP_408_REQUEST_TIMEOUT,
                            f"body not complete within {BODY_TIMEOUT_S}s") from None
    except HTTPException as err:
        if err.status_code == status.HTTP_413_CONTENT_TOO_LARGE:
            guard.refusals.refuse("body_too_large", source, detail=str(err.detail))
        raise
    try:
        result = await handler(_webhook_request(request, body, path.strip("/")))
    except StoreUnavailableError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(err)) from err
    except NavetError as err:  # PayloadError and friends: the sender's fault, say why
        guard.refusals.refuse("payload_refused", source, detail=str(err))
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from err
    if isinstance(result, WebhookResponse):
        return JSONResponse(jsonable_encoder(result.body), status_code=result.status,
                            headers=dict(result.headers))
    if isinstance(result, Response):  # a handler written before WebhookResponse existed
        return result
    if result is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JSONResponse(jsonable_encoder(result))
