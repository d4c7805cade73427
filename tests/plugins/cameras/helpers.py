"""A night-supervision municipality for the camera tests, and gateways that serve it.

One tenant (``vasteras``, Europe/Stockholm) with five residents whose cameras
are served by the adapter under test, staff with and without the
``night_supervision`` role, and consents in every state the policy knows:

- ``r-1`` lives alone, consent valid;
- ``r-2`` shares the home with a partner; both consented;
- ``r-3`` shares the home; the cohabitant withdrew their consent;
- ``r-4`` the resident's consent ran out;
- ``r-5`` the resident withdrew their consent.

Every resident may be checked 22:00-07:00 local, at most ``MAX_S`` seconds at a time.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from simulators.cameras_cloud import UgglanCloud
from simulators.cameras_mqtt import VaktarenUnits

TENANT = "vasteras"
T0 = datetime(2026, 1, 13, 21, 30, tzinfo=UTC)  # Tuesday 22:30 in Stockholm
MAX_S = 60
API_KEY = "test-api-key-0001"
SECRET = "whsec-test-0123456789abcdef"
RESIDENTS = ["r-1", "r-2", "r-3", "r-4", "r-5"]
CAMERAS = {r: f"cam-{r[2:]}" for r in RESIDENTS}
NIGHT = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
          "start": "22:00", "end": "07:00"}]


def consent(cid: str, resident: str, given_by: str = "resident", **extra: Any) -> dict[str, Any]:
    return {"id": cid, "resident": resident, "purpose": "camera_supervision",
            "given_by": given_by, "valid_from": "2025-06-01T00:00:00+02:00",
            "legal_basis": "samtycke, SoL; beslut 2025-101", **extra}


def care(adapter: str, tenant: str = TENANT) -> dict[str, Any]:
    return {"tenants": [{
        "id": tenant, "name": "Västerås stad (test)", "timezone": "Europe/Stockholm",
        "residents": [{"id": r, "label": f"Lgh {r}"} for r in RESIDENTS],
        "devices": [{"adapter": adapter, "address": CAMERAS[r], "kind": "camera",
                     "resident": r, "location": "Sovrum"} for r in RESIDENTS],
        "staff": [
            {"id": "natt-1", "label": "Nattpatrull", "roles": ["night_supervision"]},
            {"id": "natt-2", "label": "Nattpatrull", "roles": ["night_supervision"]},
            {"id": "dag-1", "label": "Hemtjänst dag", "roles": ["home_care"]},
        ],
        "consents": [
            consent("c-1", "r-1"),
            consent("c-2", "r-2"), consent("c-2b", "r-2", "cohabitant:partner"),
            consent("c-3", "r-3"),
            consent("c-3b", "r-3", "cohabitant:son", withdrawn="2026-01-10T12:00:00+01:00"),
            consent("c-4", "r-4", valid_to="2026-01-01T00:00:00+01:00"),
            consent("c-5", "r-5", withdrawn="2026-01-12T09:00:00+01:00"),
        ],
        "supervision": [{"resident": r, "windows": NIGHT, "max_session_s": MAX_S}
                        for r in RESIDENTS],
    }]}


def settings(tmp_path: Path, adapter: str, adapter_settings: dict[str, Any],
             tenant: str = TENANT) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    file = tmp_path / f"care-{tenant}.json"
    file.write_text(json.dumps(care(adapter, tenant)), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[file],
                    db_synchronous="OFF",  # fake-clock tests commit at every step
                    outbound={"allow_loopback": True},  # the simulated clouds run here
                    adapters=[{"adapter": adapter, "tenant": tenant,
                               "settings": adapter_settings}])


def vaktaren_settings() -> dict[str, Any]:
    return {"base_topic": "vaktaren/site-1", "relay_url": "https://relay.vaktaren.example/v",
            "ack_timeout_s": 5}


@asynccontextmanager
async def vaktaren_gateway(tmp_path: Path, clock: FakeClock, broker: MemoryBroker,
                           **units_kw: Any) -> AsyncIterator[tuple[Gateway, VaktarenUnits]]:
    """A gateway whose cameras are Vaktaren units, simulated on the in-memory broker."""
    gw = Gateway(settings(tmp_path, "vaktaren", vaktaren_settings()), clock=clock,
                 mqtt=broker.client("navet"))
    units_client = broker.client("units")
    await units_client.connect()
    units = VaktarenUnits(units_client, clock, list(CAMERAS.values()),
                          base_topic="vaktaren/site-1", **units_kw)
    await units.start()
    await gw.start()
    try:
        yield gw, units
    finally:
        await gw.stop()
        await units.stop()
        await units_client.disconnect()


@asynccontextmanager
async def ugglan_gateway(tmp_path: Path, clock: FakeClock,
                         broker: MemoryBroker, **cloud_kw: Any
                         ) -> AsyncIterator[tuple[Gateway, UgglanCloud]]:
    """A gateway whose cameras are in the Ugglan cloud, a real HTTP server on a free port.

    The cloud posts its webhooks into the gateway's app in-process (ASGI), so no
    second server is needed for Navet itself.
    """
    cloud = UgglanCloud(clock, list(CAMERAS.values()), api_key=API_KEY, webhook_secret=SECRET,
                        callback_url="http://navet/ingress/ugglan-vasteras/events", **cloud_kw)
    await cloud.start()
    gw = Gateway(settings(tmp_path, "ugglan", {
        "api_url": cloud.api_url, "api_key": API_KEY, "webhook_secret": SECRET,
        "callback_url": "http://navet/ingress/ugglan-vasteras/events",
        "register_webhook": False}), clock=clock, mqtt=broker.client("navet"))
    app = create_app(gateway=gw)
    app.state.gateway = gw
    push = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://navet")
    await cloud.push_with(push)
    await gw.start()
    try:
        yield gw, cloud
    finally:
        await gw.stop()
        await cloud.stop()
        await push.aclose()


async def settle(gw: Gateway, fleet: Any = None) -> None:
    """Let in-flight commands, reports and webhooks reach the store, and the rules finish.

    Deterministic: it waits for what is in flight (the fleet's outbound queue, every
    in-memory MQTT client's handlers, the rules' backlog: a write, so every write queued
    before it has committed), never for real time. Several passes, because one hop can
    start the next (a stop command makes a unit report, the report makes the rules derive).
    """
    import asyncio

    for _ in range(4):
        drain = getattr(fleet, "drain", None)
        if drain is not None:
            await drain()
        broker = getattr(gw.mqtt, "broker", None)
        for client in list(getattr(broker, "clients", [gw.mqtt])):
            if hasattr(client, "drain"):
                await client.drain()
        assert gw.rules is not None
        await gw.rules.drain()
        await asyncio.sleep(0)  # a task woken by the drained work takes its next step


def events(gw: Gateway, *types: str, tenant: str = TENANT) -> list[Any]:
    return [s.event for s in gw.store.query_events(tenant, types=list(types),
                                                   limit=10_000)]


async def tick(clock: FakeClock, seconds: float, step: float = 1.0, *,
               gw: Gateway, fleet: Any = None) -> None:
    """Advance the fake clock in steps and, after each, :func:`settle`: what the step set
    off (a heartbeat, a fault, a webhook) is stored and ruled before time moves on.

    Without it the fake clock outruns delivery: a unit's heartbeat still queued in the
    cloud after many steps is a silence to Navet (rightly: it has not heard the unit),
    and the same night gives a silent-unit alarm through one vendor and not the other."""
    done = 0.0
    while done < seconds:
        await clock.advance(min(step, seconds - done))
        done += step
        await settle(gw, fleet)
