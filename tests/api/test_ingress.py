"""Webhook ingress: a vendor cloud POSTs to a path an adapter instance mounted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway import PayloadError, WebhookRequest, WebhookResponse
from gateway.core.gateway import Gateway


@pytest.fixture
def received(gw: Gateway, app: object) -> list[bytes]:
    """Mount a handler the way an adapter does, through its host."""
    bodies: list[bytes] = []

    async def handler(request: WebhookRequest) -> Any:
        body = request.body
        if body == b"bad":
            raise PayloadError("not a lock event", adapter="lockcloud")
        if request.headers.get("X-Refuse"):
            return WebhookResponse({"error": "refused"}, status=401,
                                   headers={"WWW-Authenticate": "Bearer"})
        bodies.append(body)
        return {"accepted": len(body), "path": request.path, "key": request.headers.get("x-key"),
                "q": request.query.get("q"), "method": request.method}

    gw.hosts["zigbee2mqtt-vasteras"].add_webhook("/hooks/locks/", handler)
    return bodies


async def test_post_reaches_the_adapters_handler(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks?q=1", content=b'{"a":1}',
                          headers={"X-Key": "k"})
    assert r.status_code == 200
    assert r.json() == {"accepted": 7, "path": "hooks/locks", "key": "k", "q": "1",
                        "method": "POST"}
    assert received == [b'{"a":1}']


async def test_a_handlers_webhook_response_sets_status_and_headers(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=b"{}",
                          headers={"X-Refuse": "yes"})
    assert (r.status_code, r.json()) == (401, {"error": "refused"})
    assert r.headers["www-authenticate"] == "Bearer"
    assert received == []


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


def refused(gw: Gateway, reason: str) -> float:
    value = gw.metrics.registry.get_sample_value(
        "navet_listener_refused_total", {"listener": "http/ingress", "reason": reason})
    return value or 0.0


async def test_refusals_are_counted_on_metrics(
    client: httpx.AsyncClient, received: list[bytes], gw: Gateway
) -> None:
    await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=b"x" * 300_000)
    await client.post("/ingress/zigbee2mqtt-vasteras/hooks/nothing-here", content=b"{}")
    await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=b"bad")
    text = (await client.get("/metrics")).text
    for reason in ("body_too_large", "unknown_webhook", "payload_refused"):
        assert (f'navet_listener_refused_total{{listener="http/ingress",reason="{reason}"}} 1.0'
                in text)


async def test_one_source_cannot_hold_more_than_its_share_of_requests(
    client: httpx.AsyncClient, gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.api.routes import ingress

    monkeypatch.setattr(ingress, "MAX_IN_FLIGHT_PER_SOURCE", 2)
    release = asyncio.Event()
    entered = 0

    async def slow(request: WebhookRequest) -> Any:
        nonlocal entered
        entered += 1
        await release.wait()
        return {"ok": True}

    gw.hosts["zigbee2mqtt-vasteras"].add_webhook("slow", slow)
    url = "/ingress/zigbee2mqtt-vasteras/slow"
    held = [asyncio.create_task(client.post(url, content=b"{}")) for _ in range(2)]
    while entered < 2:
        await asyncio.sleep(0)
    third = await client.post(url, content=b"{}")
    release.set()
    assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
    assert third.status_code == 429 and third.headers["retry-after"] == "1"
    assert refused(gw, "source_busy") == 1
    assert (await client.post(url, content=b"{}")).status_code == 200  # slots given back


async def test_a_body_that_does_not_arrive_in_time_is_408(
    client: httpx.AsyncClient, received: list[bytes], gw: Gateway,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.api.routes import ingress

    monkeypatch.setattr(ingress, "BODY_TIMEOUT_S", 0.1)
    never = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"a":'
        await never.wait()  # the rest never comes
        yield b"1}"

    r = await client.post("/ingress/zigbee2mqtt-vasteras/hooks/locks", content=trickle())
    assert r.status_code == 408
    assert received == [] and refused(gw, "body_timeout") == 1
