"""Probes and metrics as an orchestrator and Prometheus see them."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.errors import StoreUnavailableError
from gateway.transports.memory import MemoryBroker
from tests.postgres import set_writable

from .conftest import frame


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_probes_say_the_api_is_open_while_auth_is_off(
    client: httpx.AsyncClient,
) -> None:
    # the fixture's settings leave auth.mode at its default, off: a probe must see that
    for path in ("/healthz", "/readyz"):
        body = (await client.get(path)).json()
        assert body["api"] == "open", path
        [warning] = body["warnings"]
        assert "auth.mode is off" in warning and "navet token create" in warning
    assert (await client.get("/readyz")).status_code == 200  # open is not unready


async def test_probes_say_authenticated_when_auth_is_on(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, auth={"mode": "local"})
    app = create_app(gateway=Gateway(settings, mqtt=MemoryBroker().client("navet")))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://navet") as client:
        for path in ("/healthz", "/readyz"):
            body = (await client.get(path)).json()
            assert body["api"] == "authenticated" and "warnings" not in body, path


async def test_every_start_with_auth_off_logs_a_warning_naming_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                        http={"host": "0.0.0.0", "port": 8088})
    for _ in range(2):  # a restart warns again
        app = create_app(gateway=Gateway(settings, mqtt=MemoryBroker().client("navet")))
        with caplog.at_level(logging.WARNING, logger="gateway.api.app"):
            async with app.router.lifespan_context(app):
                pass
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "gateway.api.app" and r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "http://0.0.0.0:8088" in warnings[0]
    assert "auth: {mode: local}" in warnings[0] and "NAVET_AUTH__MODE=local" in warnings[0]


async def test_ready_when_store_mqtt_and_gateway_are_up(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"store": "ok", "mqtt": "ok", "gateway": "ok"}


async def test_not_ready_names_mqtt_when_disconnected(
    client: httpx.AsyncClient, gw: Gateway
) -> None:
    await gw.mqtt.disconnect()
    r = await client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not ready"
    assert body["checks"]["mqtt"] == "not connected"
    assert body["checks"]["store"] == "ok"


async def test_not_ready_names_the_store_error(client: httpx.AsyncClient, gw: Gateway) -> None:
    # A real failed commit: the database turns read-only (as on a full or failing disk).
    set_writable(gw.store, False)
    try:
        with pytest.raises(StoreUnavailableError):
            await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
        r = await client.get("/readyz")
    finally:
        set_writable(gw.store, True)
    assert r.status_code == 503
    assert re.search("read-?only", r.json()["checks"]["store"])


async def test_healthz_stays_ok_while_not_ready(client: httpx.AsyncClient, gw: Gateway) -> None:
    await gw.mqtt.disconnect()
    assert (await client.get("/healthz")).status_code == 200


async def test_metrics_count_ingested_events_and_dead_letters(
    client: httpx.AsyncClient, gw: Gateway, broker: MemoryBroker
) -> None:
    await gw.ingest(frame("vasteras", "bed", {"occupancy": True}))
    await gw.ingest(frame("vasteras", "bed", b"{not json"))
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'navet_events_in_total{adapter="zigbee2mqtt",type="sensor.reported"} 1.0' in text
    assert "navet_dead_letters_stored 1.0" in text
    assert "navet_stream_clients 0.0" in text


async def test_openapi_names_navet_and_its_version(client: httpx.AsyncClient) -> None:
    from gateway import __version__

    spec = (await client.get("/openapi.json")).json()
    assert spec["info"] == {**spec["info"], "title": "Navet", "version": __version__}
    assert "/api/v1/events" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_app_builds_and_owns_its_gateway_from_settings(
    api_settings: Settings,
) -> None:
    from gateway.api import create_app

    app = create_app(api_settings)
    async with app.router.lifespan_context(app):
        gw = app.state.gateway
        assert gw.started
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://navet") as c:
            assert (await c.get("/readyz")).status_code == 200
    assert not gw.started and app.state.gateway is None
