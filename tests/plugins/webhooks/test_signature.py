"""Each request is a CloudEvent, signed as contracts/webhooks.md says, with one or two secrets."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from gateway import from_cloudevent
from gateway.errors import ConfigError

from .conftest import NEXT_SECRET, SECRET, SUB, Rig, doc_verifier


def parse(header: str) -> tuple[int, list[str]]:
    """The documented header format, parsed independently of Navet's own code."""
    parts = [p.split("=", 1) for p in header.split(",")]
    assert parts[0][0] == "t", header
    assert all(k == "v1" for k, _ in parts[1:]), header
    return int(parts[0][1]), [v for _, v in parts[1:]]


def documented_hmac(secret: str, t: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


async def test_request_is_a_signed_cloudevent_that_verifies_with_the_documented_algorithm(
    rig: Rig,
) -> None:
    event = await rig.emit("alarm.raised", resident="r-1")
    assert await rig.deliver_now() == 1
    (request,) = rig.consumer.requests
    assert request.headers["content-type"] == "application/cloudevents+json; charset=utf-8"
    assert request.headers["navet-subscription"] == SUB
    assert request.headers["navet-delivery"]
    assert from_cloudevent(request.event) == event  # the body is the event, nothing lost

    t, signatures = parse(request.headers["navet-signature"])
    assert t == int(rig.clock.now().timestamp())
    assert signatures == [documented_hmac(SECRET, t, request.body)]

    verify = doc_verifier()
    header, now = request.headers["navet-signature"], rig.clock.now().timestamp()
    assert verify(header, request.body, [SECRET], now=now)
    assert not verify(header, request.body, ["a-wrong-secret-0123456789abc"], now=now)
    assert not verify(header, request.body.replace(b"press", b"prESS"), [SECRET], now=now)
    assert not verify(header, request.body, [SECRET], now=now + 301)  # too old: replayed capture


@pytest.mark.parametrize("webhook_settings", [{"next_secret": NEXT_SECRET}], indirect=True)
async def test_during_rotation_each_request_is_signed_with_both_secrets(rig: Rig) -> None:
    await rig.emit("alarm.raised")
    assert await rig.deliver_now() == 1
    (request,) = rig.consumer.requests
    header = request.headers["navet-signature"]
    t, signatures = parse(header)
    assert signatures == [documented_hmac(SECRET, t, request.body),
                          documented_hmac(NEXT_SECRET, t, request.body)]
    verify, now = doc_verifier(), rig.clock.now().timestamp()
    assert verify(header, request.body, [SECRET], now=now)  # a consumer not yet switched
    assert verify(header, request.body, [NEXT_SECRET], now=now)  # a consumer already switched
    assert not verify(header, request.body, ["a-wrong-secret-0123456789abc"], now=now)


async def test_every_retry_is_signed_afresh(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (503, {})
    await rig.emit("alarm.raised")
    await rig.deliver_now()
    await rig.pump(10, step=1)
    stamps = [parse(r.headers["navet-signature"])[0] for r in rig.consumer.requests]
    assert len(stamps) >= 3 and stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert len({r.headers["navet-delivery"] for r in rig.consumer.requests}) == len(stamps)
    assert len({r.event["id"] for r in rig.consumer.requests}) == 1  # same event, same id


@pytest.mark.parametrize(("settings", "complaint"), [
    ({"url": "http://larmcentral.example.se/hook", "secret": SECRET}, "url must use https"),
    ({"url": "https://larmcentral.example.se/hook", "secret": "short-secret"},
     "at least 24 characters"),
    ({"url": "https://larmcentral.example.se/hook", "secret": SECRET,
      "headers": {"Navet-Signature": "x"}}, "set by Navet"),
    ({"url": "https://user:pw@larmcentral.example.se/hook", "secret": SECRET},
     "must not carry credentials"),
    ({"url": "https://larmcentral.example.se/hook", "secret": SECRET, "next_secret": SECRET},
     "next_secret equals secret"),
    ({"url": "https://larmcentral.example.se/hook", "secret": SECRET, "colour": "red"},
     "colour: Extra inputs are not permitted"),
])
async def test_bad_settings_are_refused_at_start_naming_the_problem_but_not_the_secret(
    tmp_path: Any, settings: dict[str, Any], complaint: str
) -> None:
    from gateway import FakeClock
    from gateway.core.gateway import Gateway
    from gateway.core.settings import Settings
    from gateway.transports.memory import MemoryBroker

    gw = Gateway(Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                          outbound={"allow_loopback": True}, subscriptions=[
        {"id": "bad", "tenant": "vasteras", "sink": "webhook", "settings": settings}]),
        clock=FakeClock(), mqtt=MemoryBroker().client("navet"), rules=[])
    with pytest.raises(ConfigError) as caught:
        await gw.start()
    try:
        message = str(caught.value)
        assert "subscription bad" in message and complaint in message
        assert SECRET not in message and "short-secret" not in message
    finally:
        await gw.stop()
