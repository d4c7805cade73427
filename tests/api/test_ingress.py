"""Webhook ingress: a vendor cloud POSTs to a path an adapter instance mounted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from gateway import PayloadError
from gateway.core.gateway import Gateway


@pytest.fixture
def received(gw: Gateway, app: object) -> list[bytes]:
    """Mount a handler the way an adapter does, through its host."""
    bodies: list[bytes] = []

    async def handler(request: Request) -> Any:
        body = await request.body()
        if body == b"bad":
            raise PayloadError("not a lock event", adapter="lockcloud")
        bodies.append(body)
        return {"accepted": len(body), "path": request.url.path}

    gw.hosts["zigbee2mqtt-vasteras"].add_webhook("/hooks/locks/", handler)
    return bodies


async def test_post_reaches_the_adapters_handler(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=b'{"a":1}')
    assert r.status_code == 200
    assert r.json() == {"accepted": 7, "path": "/ingress/zigbee2mqtt-vasteras/hooks/locks"}
    assert received == [b'{"a":1}']


async def test_unknown_path_or_instance_is_404(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    for url in ("/ingress/zigbee2mqtt-vasteras/hooks/other", "/ingress/nobody/hooks/locks"):
        r = await client.post(url, content=b"{}")
        assert r.status_code == 404
    assert received == []


async def test_too_large_body_is_413_and_never_reaches_the_handler(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    big = b"x" * (256 * 1024 + 1)
    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=big)
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(5):
            yield b"y" * (64 * 1024)

    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=chunks())
    assert r.status_code == 413
    assert received == []


async def test_exactly_the_limit_is_accepted(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks",
                          content=b"z" * (256 * 1024))
    assert r.status_code == 200


async def test_payload_error_is_400_with_the_reason(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=b"bad")
    assert r.status_code == 400
    assert "not a lock event" in r.json()["detail"]
