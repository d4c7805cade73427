"""Probes and metrics: ``/healthz``, ``/readyz``, ``/metrics``.

``/healthz`` answers whenever the process can serve HTTP (a liveness probe
restarts only a hung process). ``/readyz`` says whether this instance should
take traffic: the store accepts writes, MQTT is connected, the gateway has
started. A load balancer takes an instance out while any check fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.core.gateway import Gateway
from gateway.core.store import Store

from ..deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def readiness(gateway: Gateway) -> dict[str, str]:
    """Each check -> "ok" or why it fails."""
    store = gateway.store
    mqtt = getattr(gateway, "_mqtt", None)  # the property raises before MQTT is started
    return {
        "store": "ok" if store.healthy else f"failing: {store.last_error or 'not writable'}",
        "mqtt": "ok" if mqtt is not None and mqtt.connected else "not connected",
        "gateway": "ok" if gateway.started else "not started",
    }


@router.get("/readyz", responses={503: {"description": "Some check failed; see 'checks'."}})
async def readyz(gateway: GatewayDep) -> JSONResponse:
    checks = readiness(gateway)
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


class StoreCollector(Collector):
    """Figures read from the store at scrape time (they survive restarts, counters do not)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "navet_dead_letters_stored", "Frames in the dead-letter store, all tenants",
            value=self.store.count_dead_letters(),
        )


@router.get("/metrics", response_class=Response)
async def metrics(gateway: GatewayDep) -> Response:
    store, m = gateway.store, gateway.metrics
    depth = await store.read(lambda conn: store.outbox_depth())
    for sub in store.subscriptions:
        m.outbox_depth.labels(sub.id).set(depth.get(sub.id, 0))
    # Collectors read the store; keep that off the event loop.
    body = await asyncio.to_thread(generate_latest, m.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
