"""The Stigfinnare webhook through Navet's HTTP app: signatures, replay window, answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi import FastAPI

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.errors import ConfigError
from gateway.transports.memory import MemoryBroker

from .stigfinnare import (
    OLD_SECRET,
    ORG,
    SECRET,
    TENANT,
    care,
    instance_settings,
    message,
    signed_headers,
)

URL = f"/ingress/gps-{TENANT}/v1/messages"
NOW = datetime(2026, 1, 14, 21, 30, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def gw(tmp_path: Path, clock: FakeClock,
             broker: MemoryBroker) -> AsyncIterator[Gateway]:
    file = tmp_path / "care.yaml"
    file.write_text(yaml.safe_dump(care()), encoding="utf-8")
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[file],
                        adapters=[{"adapter": "stigfinnare", "tenant": TENANT,
                                   "id": f"gps-{TENANT}",
                                   "settings": instance_settings(previous_secret=OLD_SECRET)}])
    yield Gateway(settings, clock=clock, mqtt=broker.client("navet"))


@pytest.fixture
async def client(gw: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(gateway=gw)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://navet") as c:
            yield c


def body(clock: FakeClock, n: int = 1) -> bytes:
    return json.dumps(message(clock, "sos", n, north_m=300)).encode()


def stored(gw: Gateway) -> list[str]:
    return [s.event.type for s in gw.store.query_events(TENANT, limit=1000)
            if s.event.source.adapter == "stigfinnare"]


async def test_a_signed_message_is_stored_and_then_acknowledged(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    raw = body(clock)
    r = await client.post(URL, content=raw, headers=signed_headers(raw, clock.now()))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0}
    assert sorted(stored(gw)) == ["alarm.raised", "position.reported"]

    # the same request again inside the window: harmless, stored once
    r = await client.post(URL, content=raw, headers=signed_headers(raw, clock.now()))
    assert r.json() == {"accepted": 0, "duplicates": 2}
    assert len(stored(gw)) == 2


async def test_the_previous_secret_works_during_a_rotation(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    raw = body(clock)
    r = await client.post(URL, content=raw,
                          headers=signed_headers(raw, clock.now(), secret=OLD_SECRET))
    assert r.status_code == 200


@pytest.mark.parametrize(("tamper", "reason"), [
    ("wrong secret", "signature does not match"),
    ("body changed", "signature does not match"),
    ("no signature", "missing header X-Stigfinnare-Signature"),
    ("no timestamp", "missing header X-Stigfinnare-Timestamp"),
    ("bad timestamp", "X-Stigfinnare-Timestamp must be Unix seconds"),
    ("other organisation", "is not the one this endpoint serves"),
    ("no organisation", "missing header X-Stigfinnare-Organisation"),
    ("replayed 6 minutes later", "s old; the window is ±300 s"),
    ("from the future", "s in the future"),
    ("other scheme", "has no v1= signature"),
])
async def test_unauthenticated_requests_are_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, tamper: str, reason: str
) -> None:
    raw = body(clock)
    at = clock.now()
    headers = signed_headers(raw, at)
    if tamper == "wrong secret":
        headers = signed_headers(raw, at, secret="x" * 40)
    elif tamper == "body changed":
        raw = raw.replace(b'"sos"', b'"fall"')
    elif tamper == "no signature":
        del headers["X-Stigfinnare-Signature"]
    elif tamper == "no timestamp":
        del headers["X-Stigfinnare-Timestamp"]
    elif tamper == "bad timestamp":
        headers["X-Stigfinnare-Timestamp"] = "yesterday"
    elif tamper == "other organisation":
        headers = signed_headers(raw, at, org="org-sala-1")
    elif tamper == "no organisation":
        del headers["X-Stigfinnare-Organisation"]
    elif tamper == "replayed 6 minutes later":
        await clock.advance(360)
    elif tamper == "from the future":
        headers = signed_headers(raw, at + timedelta(seconds=400))
    elif tamper == "other scheme":
        headers["X-Stigfinnare-Signature"] = "v0=" + headers["X-Stigfinnare-Signature"][3:]
    r = await client.post(URL, content=raw, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized"
    assert reason in r.json()["detail"]
    assert stored(gw) == []
    assert gw.store.count_dead_letters() == 0  # not from the vendor: not kept at all
    assert SECRET not in r.text and ORG not in r.text.replace("org-sala-1", "")


async def test_a_signed_but_bad_message_is_a_dead_letter_and_422(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    raw = json.dumps(message(clock, "position", 7)).encode()  # a position without one
    r = await client.post(URL, content=raw, headers=signed_headers(raw, clock.now()))
    assert r.status_code == 422
    assert "a 'position' message needs a position" in r.json()["detail"]
    assert gw.store.count_dead_letters() == 1
    assert stored(gw) == []


async def test_wrong_path_is_404(client: httpx.AsyncClient, clock: FakeClock) -> None:
    raw = body(clock)
    r = await client.post(f"/ingress/gps-{TENANT}/v2/messages", content=raw,
                          headers=signed_headers(raw, clock.now()))
    assert r.status_code == 404


async def test_an_instance_without_credentials_does_not_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                        adapters=[{"adapter": "stigfinnare", "tenant": TENANT,
                                   "settings": {"organisation": ORG, "secret": "short"}}])
    gw = Gateway(settings, clock=FakeClock(NOW), mqtt=MemoryBroker().client("navet"))
    try:
        with pytest.raises(ConfigError, match="secret"):
            await gw.start()
    finally:
        await gw.stop()
