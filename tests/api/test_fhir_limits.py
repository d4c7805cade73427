"""Limits on FHIR Subscriptions: a tenant's quota, and a websocket Subscription nobody is
bound to, whose notifications wait in a bounded, expiring backlog instead of piling up."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings, SubscriptionLimits
from gateway.transports.memory import MemoryBroker

from .test_fhir import ALARM_TOPIC, FHIR, WAIT_S, WEBSOCKET, V, drained, raise_alarm, status_of

LIMITS = SubscriptionLimits(per_tenant=3, websocket_backlog=3, websocket_backlog_ttl_s=60)


@pytest.fixture
def gw(api_settings: Settings, clock: FakeClock, broker: MemoryBroker) -> Gateway:
    # no rules: the notifications are exactly the alarms the tests raise (no escalations)
    return Gateway(api_settings.model_copy(update={"subscription_limits": LIMITS}),
                   clock=clock, mqtt=broker.client("navet"), rules=[])


async def websocket_subscription(client: httpx.AsyncClient,
                                 tenant: str = "vasteras") -> httpx.Response:
    return await client.post(f"{FHIR}/Subscription", params={"tenant": tenant}, json={
        "resourceType": "Subscription", "status": "requested", "topic": ALARM_TOPIC,
        "channelType": WEBSOCKET, "content": "id-only"})


async def target(client: httpx.AsyncClient, fid: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/subscriptions/fhir-{fid}", params=V)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["target"]
    return found


async def test_an_unbound_websocket_keeps_a_bounded_backlog_that_expires(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    r = await websocket_subscription(client)
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    for n in range(5):
        await raise_alarm(gw, clock, alarm=f"a-{n}")
    await drained(gw)  # nothing piles up in the durable outbox for a client that may never come
    assert await target(client, fid) == {"channel": "websocket", "clients": 0, "backlog": 3,
                                         "backlog_max": 3, "dropped": 2, "expired": 0}
    await clock.advance(61)
    assert (await target(client, fid))["backlog"] == 0
    assert (await target(client, fid))["expired"] == 3
    # nothing is lost for good: every notification was numbered and $events has it
    events = (await client.get(f"{FHIR}/Subscription/{fid}/$events", params=V)).json()
    numbers = [n["eventNumber"] for n in status_of(events)["notificationEvent"]]
    assert numbers == ["1", "2", "3", "4", "5"]


async def test_a_client_binding_later_gets_what_waited_then_the_rest_in_order(
        server: str, gw: Gateway, clock: FakeClock) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=WAIT_S) as http:
        fid = (await websocket_subscription(http)).json()["id"]
        for n in range(2):
            await raise_alarm(gw, clock, alarm=f"a-{n}")
        await drained(gw)
        params = (await http.post(f"{FHIR}/Subscription/{fid}/$get-ws-binding-token",
                                  params=V)).json()
    values = {p["name"]: next(v for k, v in p.items() if k.startswith("value"))
              for p in params["parameter"]}
    async with connect(values["websocket-url"]) as ws:
        await ws.send(f"bind-with-token: {values['token']}")
        kinds = [status_of(json.loads(await ws.recv())) for _ in range(3)]
        await raise_alarm(gw, clock, alarm="a-live")
        kinds.append(status_of(json.loads(await ws.recv())))
    assert [k["type"] for k in kinds] == ["handshake"] + ["event-notification"] * 3
    assert [k["notificationEvent"][0]["eventNumber"] for k in kinds[1:]] == ["1", "2", "3"]


async def test_a_tenant_past_its_quota_is_refused_with_409(client: httpx.AsyncClient) -> None:
    for _ in range(LIMITS.per_tenant):
        assert (await websocket_subscription(client)).status_code == 201
    refused = await websocket_subscription(client)
    assert refused.status_code == 409
    issue = refused.json()["issue"][0]
    assert issue["code"] == "too-costly"
    assert "limit is 3" in issue["diagnostics"] and "subscription_limits.per_tenant" in \
        issue["diagnostics"]
    assert (await websocket_subscription(client, tenant="orebro")).status_code == 201
    listed = (await client.get(f"{FHIR}/Subscription", params=V)).json()
    assert listed["total"] == LIMITS.per_tenant  # the refused one was not stored
