"""``POST /api/v1/subscriptions``: webhook subscriptions created at run time, their URL
checked against the outbound policy through DNS, within the tenant's quota."""

from __future__ import annotations

import httpx
import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.security.outbound import OutboundSettings
from gateway.core.settings import Settings, SubscriptionLimits
from gateway.transports.memory import MemoryBroker

V = {"tenant": "vasteras"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # 24 bytes, base64


@pytest.fixture
def gw(api_settings: Settings, clock: FakeClock, broker: MemoryBroker) -> Gateway:
    strict = api_settings.model_copy(update={
        "outbound": OutboundSettings(allow=["127.0.0.2/32"]),  # nothing else on this machine
        "subscription_limits": SubscriptionLimits(per_tenant=2)})
    return Gateway(strict, clock=clock, mqtt=broker.client("navet"), rules=[])


async def create(client: httpx.AsyncClient, url: str, **more: object) -> httpx.Response:
    return await client.post("/api/v1/subscriptions", params=V, headers={
        "X-Navet-Actor": "admin-1"}, json={"settings": {"url": url, "secret": SECRET}, **more})


@pytest.mark.parametrize(("url", "why"), [
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://[fd00:ec2::254]/latest/", "cloud metadata"),
    ("https://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
    ("https://2852039166/", "169.254.169.254 is a cloud metadata"),       # decimal form
    ("https://0251.0376.0251.0376/", "169.254.169.254 is a cloud metadata"),  # octal form
    ("https://[::ffff:169.254.169.254]/", "169.254.169.254 is a cloud metadata"),
    ("https://169.254.10.1:8080/", "link-local"),
    ("https://127.0.0.1:8181/hook", "loopback"),
    ("https://localhost:8181/hook", "loopback"),
    ("https://10.0.0.5/hook", "private"),
    ("https://does-not-exist.invalid/hook", "does not resolve"),
])
async def test_refused_destinations_are_422_naming_what_and_why(
        client: httpx.AsyncClient, url: str, why: str) -> None:
    r = await create(client, url)
    assert r.status_code == 422, r.text
    assert "outbound policy refuses" in r.json()["detail"] and why in r.json()["detail"]
    listed = (await client.get("/api/v1/subscriptions", params=V)).json()
    assert listed == []  # nothing was stored


async def test_created_shown_without_its_secret_and_counted_against_the_quota(
        client: httpx.AsyncClient, gw: Gateway) -> None:
    r = await create(client, "https://127.0.0.2:9/hook?token=abc", id="larmcentral",
                     types=["alarm."])
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/subscriptions/larmcentral?tenant=vasteras"
    view = r.json()
    assert view["target"]["url"] == "https://127.0.0.2:9/hook"  # no query: it may hold a token
    assert SECRET not in r.text and "abc" not in r.text
    assert gw.sinks["larmcentral"] is not None
    assert (await create(client, "https://127.0.0.2:9/b", id="larmcentral")).status_code == 409
    assert (await create(client, "https://127.0.0.2:9/b")).status_code == 201
    over = await create(client, "https://127.0.0.2:9/c")
    assert over.status_code == 409 and "limit is 2" in over.json()["detail"]


@pytest.mark.parametrize(("body", "complaint"), [
    ({"sink": "dc09", "settings": {}}, "cannot be created over the API"),
    ({"types": ["alarm.nonsense"], "settings": {"url": "https://127.0.0.2/", "secret": SECRET}},
     "neither an event type"),
    ({"settings": {"url": "https://127.0.0.2/", "secret": "short"}}, "at least 24 characters"),
])
async def test_bad_requests_are_422(client: httpx.AsyncClient, body: dict[str, object],
                                    complaint: str) -> None:
    r = await client.post("/api/v1/subscriptions", params=V, json=body,
                          headers={"X-Navet-Actor": "admin-1"})
    assert r.status_code == 422 and complaint in r.text
