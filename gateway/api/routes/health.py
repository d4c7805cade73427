"""Probes and metrics: ``/healthz``, ``/readyz``, ``/metrics``.

``/healthz`` answers whenever the process can serve HTTP (a liveness probe
restarts only a hung process). ``/readyz`` says whether this instance should
take traffic: the store accepts writes, MQTT is connected, the gateway has
started. A load balancer takes an instance out while any check fails.

Both say whether the API asks for tokens: ``"api": "authenticated"``, or
``"api": "open"`` with a warning when ``auth.mode`` is ``off``, so a probe or a
monitoring check can alert on a gateway that runs open. An open API does not
make an instance unready: development runs open on purpose.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.core.gateway import Gateway
from gateway.core.store.repos.frames import DeadLetterRepository

from ..deps import GatewayDep, OutboxDep, StoreDep, get_store

router = APIRouter(tags=["health"])


def api_state(request: Request) -> dict[str, Any]:
    """``{"api": "open", "warnings": [...]}`` while auth is off, else ``{"api":
    "authenticated"}``."""
    warning: str | None = getattr(request.app.state, "open_api_warning", None)
    return {"api": "open", "warnings": [warning]} if warning else {"api": "authenticated"}


@router.get("/healthz")
async def healthz(request: Request) -> dict[str, Any]:
    return {"status": "ok", **api_state(request)}


def readiness(gateway: Gateway) -> dict[str, str]:
    """Each check -> "ok" or why it fails."""
    store = get_store(gateway)
    mqtt = getattr(gateway, "_mqtt", None)  # the property raises before MQTT is started
    return {
        "store": "ok" if store.healthy else f"failing: {store.last_error or 'not writable'}",
        "mqtt": "ok" if mqtt is not None and mqtt.connected else "not connected",
        "gateway": "ok" if gateway.started else "not started",
    }


@router.get("/readyz", responses={503: {"description": "Some check failed; see 'checks'."}})
async def readyz(gateway: GatewayDep, request: Request) -> JSONResponse:
    checks = readiness(gateway)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks, **api_state(request)},
        status_code=200 if ready else 503,
    )


class StoreCollector(Collector):
    """Figures read from the store at scrape time (they survive restarts, counters do not)."""

    def __init__(self, dead_letters: DeadLetterRepository) -> None:
        self.dead_letters = dead_letters

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "navet_dead_letters_stored", "Frames in the dead-letter store, all tenants",
            value=self.dead_letters.count(),
        )


@router.get("/metrics", response_class=Response)
async def metrics(gateway: GatewayDep, store: StoreDep, outbox: OutboxDep) -> Response:
    m = gateway.metrics
    depth = await asyncio.to_thread(outbox.depth)
    for sub in store.subscriptions:
        m.outbox_depth.labels(sub.id).set(depth.get(sub.id, 0))
    # Collectors read the store; keep that off the event loop.
    body = await asyncio.to_thread(generate_latest, m.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
