"""Webhook ingress for vendor clouds: ``POST /ingress/{instance_id}/{path}``.

An adapter instance mounts handlers with ``host.add_webhook(path, handler)``;
they land in ``gateway.webhooks["<instance_id>/<path>"]``. The handler gets
the Starlette ``Request`` and returns a ``Response`` or something JSON-able.

The body is read here, under a size limit, before the handler sees it, so no
adapter can be made to buffer an unbounded upload. A store that cannot write
answers 503, which makes the vendor cloud send again rather than lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from gateway.errors import NavetError, StoreUnavailableError

from ..deps import GatewayDep

log = logging.getLogger(__name__)
router = APIRouter(tags=["ingress"])

MAX_BODY_BYTES = 256 * 1024


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


def _replaying(request: Request, body: bytes) -> Request:
    """A request whose body is ``body`` (already read), for the adapter's handler."""
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await request.receive()  # waits for http.disconnect

    return Request(request.scope, receive)


@router.post("/ingress/{instance_id}/{path:path}")
async def ingress(
    gateway: GatewayDep, request: Request, instance_id: str, path: str
) -> Response:
    handler: Callable[[Any], Awaitable[Any]] | None = gateway.webhooks.get(
        f"{instance_id}/{path.strip('/')}"
    )
    if handler is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no webhook {path!r} on adapter instance {instance_id!r}"
        )
    try:
        body = await _read_limited(request, MAX_BODY_BYTES)
    except ClientDisconnect:
        # the sender hung up mid-request: nothing was read, so nothing was accepted;
        # a vendor that gets no answer sends again
        log.info("webhook sender for %s/%s disconnected before its body arrived",
                 instance_id, path)
        return Response(status_code=499)
    try:
        result = await handler(_replaying(request, body))
    except StoreUnavailableError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(err)) from err
    except NavetError as err:  # PayloadError and friends: the sender's fault, say why
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from err
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JSONResponse(jsonable_encoder(result))
