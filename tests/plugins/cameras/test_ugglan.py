"""Ugglan: decode of its webhooks, the signature check, and sessions through its real HTTP API."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import FakeClock, PayloadError, RawFrame, WebhookRequest
from gateway.core.gateway import Gateway
from gateway.core.policy.cameras import CameraUnavailableError, CheckStarted
from gateway.errors import StoreUnavailableError
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker
from plugins.cameras.ugglan import UgglanAdapter, sign, verify_signature
from simulators.cameras_cloud import UgglanCloud

from .helpers import API_KEY, SECRET, T0, TENANT, events, settle, ugglan_gateway

SETTINGS = {"api_url": "https://api.ugglan.example/v1", "api_key": API_KEY,
            "webhook_secret": SECRET}
AT = "2026-01-13T21:30:05.000+00:00"


def hook(kind: str, data: dict[str, Any], camera: str = "cam-1", eid: str = "evt_1") -> str:
    return json.dumps({"id": eid, "type": kind, "occurred_at": AT, "camera": camera,
                       "data": data})


@pytest.fixture
def decode(navet_decode: Callable[..., list[Any]]) -> Callable[[str], list[Any]]:
    return lambda payload: navet_decode("ugglan", "events", payload, tenant=TENANT,
                                        settings=SETTINGS)


def test_session_started_carries_navets_session_and_the_viewer(decode: Any) -> None:
    [ev] = decode(hook("session.started", {"session": "ses_1", "reference": "sv-1",
                                            "viewer": "natt-1", "max_duration_s": 60}))
    assert ev.type == "supervision.started"
    assert (ev.data.session, ev.data.by.id, ev.data.by.kind) == ("sv-1", "natt-1", "staff")
    assert ev.data.expires == datetime(2026, 1, 13, 21, 31, 5, tzinfo=UTC)
    assert ev.device.id == "ugglan:cam-1" and ev.device.kind == "camera"
    assert ev.source.ref == "evt_1" and ev.source.protocol == "ugglan-cloud-v1"


def test_session_ended_gives_duration_and_navets_reason_when_it_gave_one(decode: Any) -> None:
    [ev] = decode(hook("session.ended", {
        "session": "ses_1", "reference": "sv-1", "viewer": "natt-1",
        "started_at": "2026-01-13T21:29:45+00:00", "end_reason": "ended_by_api",
        "client_reason": "consent_withdrawn"}))
    assert (ev.data.session, ev.data.duration_s, ev.data.reason) == (
        "sv-1", 20, "consent_withdrawn")
    [own] = decode(hook("session.ended", {
        "session": "ses_1", "reference": "sv-1", "started_at": "2026-01-13T21:29:05+00:00",
        "end_reason": "max_duration"}))
    assert (own.data.duration_s, own.data.reason) == (60, "max_length")


def test_a_session_navet_did_not_start_is_still_reported(decode: Any) -> None:
    [ev] = decode(hook("session.started", {"session": "ses_77", "viewer": "portal-user"}))
    assert ev.data.session == "ugglan:ses_77"


@pytest.mark.parametrize(("mode", "state"), [("standby", "off"), ("shutter_closed", "covered"),
                                             ("streaming", "live")])
def test_camera_mode_is_the_privacy_state(decode: Any, mode: str, state: str) -> None:
    [ev] = decode(hook("camera.mode", {"mode": mode, "reference": "sv-1"}))
    assert ev.type == "camera.privacy" and ev.data.state == state
    assert ev.data.session == ("sv-1" if state == "live" else None)


def test_heartbeat_and_fault(decode: Any) -> None:
    [hb] = decode(hook("camera.heartbeat", {"interval_s": 600}))
    assert hb.type == "device.heartbeat" and hb.data.interval_s == 600
    [fault] = decode(hook("camera.fault", {"category": "link_lost", "active": True,
                                           "code": "NET-04", "description": "link lost"}))
    assert (fault.type, fault.data.kind, fault.data.active, fault.data.code) == (
        "device.fault", "link_lost", True, "NET-04")


def test_a_ping_is_no_event(decode: Any) -> None:
    assert decode(json.dumps({"id": "evt_0", "type": "ping"})) == []


@pytest.mark.parametrize(("payload", "why"), [
    (b"\xff\xfe", "not JSON"),
    ("[]", "must be a JSON object"),
    (json.dumps({"id": "e", "type": "camera.heartbeat", "occurred_at": AT}), "camera"),
    (hook("camera.heartbeat", {}, eid=""), "id (Ugglan's event id) is missing"),
    (hook("camera.exploded", {}), "unknown event type 'camera.exploded'"),
    (hook("camera.mode", {"mode": "recording"}), "mode 'recording' is not one of standby"),
    (hook("session.ended", {"reference": "sv-1", "end_reason": "x",
                            "started_at": AT}), "end reason 'x' is not one of"),
    (json.dumps({"id": "e", "type": "camera.heartbeat", "camera": "cam-1",
                 "occurred_at": "2026-01-13T21:30:05", "data": {}}), "no UTC offset"),
    (hook("camera.fault", {"active": "yes"}), "active must be true or false"),
])
def test_bad_webhooks_are_refused_with_a_reason(decode: Any, payload: Any, why: str) -> None:
    with pytest.raises(PayloadError, match=why.replace("(", r"\(").replace(")", r"\)")):
        decode(payload)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3), max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["session.started", "session.ended", "camera.mode",
                             "camera.heartbeat", "camera.fault", "ping", "x"]),
       data=st.dictionaries(st.sampled_from(["session", "reference", "viewer", "started_at",
                                             "end_reason", "client_reason", "mode",
                                             "interval_s", "active", "category", "code",
                                             "max_duration_s"]), JSONISH, max_size=6),
       when=st.one_of(st.just(AT), JSONISH), raw=st.binary(max_size=60))
def test_decode_is_total(kind: str, data: dict[str, Any], when: Any, raw: bytes) -> None:
    adapter = UgglanAdapter(SETTINGS)
    for payload in (json.dumps({"id": "e", "type": kind, "occurred_at": when,
                                "camera": "cam-1", "data": data}).encode(), raw):
        frame = RawFrame("ugglan", TENANT, "webhook", "events", payload, T0)
        with contextlib.suppress(PayloadError):
            adapter.decode(frame)


# --------------------------------------------------------------------------- signatures


def test_signature_check() -> None:
    body = b'{"id": "evt_1"}'
    now = T0
    good = f"t={int(now.timestamp())},v1={sign(SECRET, int(now.timestamp()), body)}"
    assert verify_signature(SECRET, good, body, now, 300) is None
    assert "missing" in str(verify_signature(SECRET, None, body, now, 300))
    assert "does not match" in str(verify_signature(SECRET, good, body + b" ", now, 300))
    assert "does not match" in str(verify_signature("another-secret-0000", good, body, now, 300))
    assert "replay" in str(verify_signature(SECRET, good, body, now + timedelta(minutes=6), 300))
    assert "t= timestamp" in str(verify_signature(SECRET, "v1=abc", body, now, 300))
    rotated = f"{good},v1={'0' * 64}"  # several v1 values (secret rotation): one must match
    assert verify_signature(SECRET, rotated, body, now, 300) is None


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def night(tmp_path: Path, clock: FakeClock, broker: MemoryBroker
                ) -> AsyncIterator[tuple[Gateway, UgglanCloud]]:
    async with ugglan_gateway(tmp_path, clock, broker) as pair:
        yield pair


async def test_a_webhook_with_a_bad_signature_is_refused_and_not_stored(
        night: tuple[Gateway, UgglanCloud]) -> None:
    gw, cloud = night
    assert cloud._push is not None
    body = hook("camera.heartbeat", {"interval_s": 600}).encode()
    url = "/ingress/ugglan-vasteras/events"
    forged = await cloud._push.post(url, content=body, headers={
        "x-ugglan-signature": f"t={int(T0.timestamp())},v1={'ab' * 32}"})
    assert forged.status_code == 401 and "does not match" in forged.json()["reason"]
    unsigned = await cloud._push.post(url, content=body)
    assert unsigned.status_code == 401
    stale = await cloud._push.post(url, content=body,
                                   headers=cloud.signed(body, T0 - timedelta(hours=1)))
    assert stale.status_code == 401 and "replay" in stale.json()["reason"]
    await settle(gw)
    assert events(gw) == [] and gw.store.count_dead_letters() == 0  # no trace of a forgery
    signed = await cloud._push.post(url, content=body, headers=cloud.signed(body))
    assert signed.status_code == 200 and signed.json()["accepted"] == 1
    [hb] = events(gw, "device.heartbeat")
    assert hb.device.id == "ugglan:cam-1" and hb.resident == "r-1"


async def test_a_check_through_the_cloud_api_with_its_single_use_viewing_url(
        night: tuple[Gateway, UgglanCloud], clock: FakeClock) -> None:
    gw, cloud = night
    started = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(started, CheckStarted)
    assert started.url.startswith(f"{cloud.url}/view/")
    async with httpx.AsyncClient() as viewer:
        first = await viewer.get(started.url)
        again = await viewer.get(started.url)
    assert first.status_code == 200 and again.status_code == 410  # single use
    await clock.advance(30)
    await gw.supervision.end_check(TENANT, "natt-1", started.session)
    await settle(gw, cloud)
    kinds = [(e.type, getattr(e.data, "state", None)) for e in events(
        gw, "supervision.started", "supervision.ended", "camera.privacy")]
    assert kinds == [("supervision.started", None), ("camera.privacy", "live"),
                     ("supervision.ended", None), ("camera.privacy", "covered")]
    [ended] = events(gw, "supervision.ended")
    assert (ended.data.session, ended.data.duration_s, ended.data.reason) == (
        started.session, 30, "stopped")
    assert cloud.sessions == {}


async def test_a_busy_or_offline_camera_is_reported_not_hidden(
        night: tuple[Gateway, UgglanCloud]) -> None:
    gw, cloud = night
    await cloud.fault("cam-1", True)
    with pytest.raises(CameraUnavailableError, match=r"503.*offline"):
        await gw.supervision.start_check(TENANT, "natt-1", "r-1")
    assert gw.supervision.sessions == {}
    entries = await gw.supervision._audit.entries(TENANT)  # type: ignore[union-attr]
    assert [e.decision for e in entries][:1] == ["failed"]


class _FailingHost:
    """A host whose store cannot write: the webhook must not be acknowledged."""

    clock = FakeClock(T0)
    tenant = TENANT
    instance_id = "ugglan-vasteras"

    def __init__(self) -> None:
        self.hooks: dict[str, Any] = {}

    def add_webhook(self, path: str, handler: Any) -> None:
        self.hooks[path] = handler

    async def ingest(self, frame: RawFrame) -> Any:
        raise StoreUnavailableError("disk full")

    def mqtt(self) -> Any:
        raise AssertionError("not used")


async def test_the_webhook_is_not_acknowledged_when_nothing_could_be_stored() -> None:
    adapter = UgglanAdapter({**SETTINGS, "register_webhook": False})
    host = _FailingHost()
    await adapter.start(host)  # type: ignore[arg-type]
    payload = hook("camera.heartbeat", {"interval_s": 600}).encode()
    t = int(T0.timestamp())
    signature = f"t={t},v1={sign(SECRET, t, payload)}"

    request = WebhookRequest(payload, {"X-Ugglan-Signature": signature})
    try:
        with pytest.raises(StoreUnavailableError):  # the ingress answers 503: Ugglan retries
            await host.hooks["events"](request)
    finally:
        await adapter.stop()


async def test_the_adapter_keeps_its_callback_registered_at_ugglan(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    cloud = UgglanCloud(clock, ["cam-1"], api_key=API_KEY, webhook_secret=SECRET)
    await cloud.start()
    gw = Gateway(settings_for(tmp_path, cloud, register_webhook=True), clock=clock,
                 mqtt=broker.client("navet"))
    await gw.start()
    try:
        # the first PUT goes out as the adapter starts
        await wait_until(lambda: cloud.callback_url, "the callback URL at Ugglan")
        assert cloud.callback_url == "https://navet.example/ingress/ugglan-vasteras/events"
        cloud.callback_url = None  # e.g. Ugglan lost it: the next renewal puts it back
        await clock.advance(600)
        await wait_until(lambda: cloud.callback_url, "the renewed callback URL")
        assert cloud.callback_url is not None
    finally:
        await gw.stop()
        await cloud.stop()


def settings_for(tmp_path: Path, cloud: UgglanCloud, **extra: Any) -> Any:
    from .helpers import settings as make_settings

    return make_settings(tmp_path, "ugglan", {
        "api_url": cloud.api_url, "api_key": API_KEY, "webhook_secret": SECRET,
        "callback_url": "https://navet.example/ingress/ugglan-vasteras/events", **extra})
