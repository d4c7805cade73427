"""Deliveries verify with the maintained ``standardwebhooks`` library (PyPI), the way a
consumer in any language verifies them: webhook-id, webhook-timestamp, webhook-signature."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest

from .conftest import SECRET, SUB, Rig, doc_verifier

standardwebhooks = pytest.importorskip("standardwebhooks",
                                       reason="pip install standardwebhooks (the test extra)")

WHSEC = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
WHSEC_NEXT = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def clock_start() -> datetime:
    # the library refuses timestamps more than five minutes from the real clock
    return datetime.now(UTC).replace(microsecond=0)


def verify(secret: str | bytes, request: Any) -> Any:
    return standardwebhooks.Webhook(secret).verify(request.body, request.headers)


@pytest.mark.parametrize("webhook_settings", [{"secret": WHSEC}], indirect=True)
async def test_a_delivery_verifies_with_the_standardwebhooks_library(rig: Rig) -> None:
    event = await rig.emit("alarm.raised")
    assert await rig.deliver_now() == 1
    (request,) = rig.consumer.requests
    assert verify(WHSEC, request) == request.event  # verified, and the CloudEvent comes back
    assert request.headers["webhook-id"] == event.id  # the id consumers deduplicate on
    assert request.headers["webhook-timestamp"] == str(int(rig.clock.now().timestamp()))
    assert request.headers["webhook-signature"].startswith("v1,")
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verify(other, request)
    tampered = type(request)(request.headers, request.body.replace(b"press", b"prESS"), 200)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verify(WHSEC, tampered)


@pytest.mark.parametrize("webhook_settings", [{"secret": WHSEC, "next_secret": WHSEC_NEXT}],
                         indirect=True)
async def test_during_rotation_both_secrets_verify(rig: Rig) -> None:
    await rig.emit("alarm.raised")
    assert await rig.deliver_now() == 1
    (request,) = rig.consumer.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verify(WHSEC, request)       # a consumer that has not switched yet
    verify(WHSEC_NEXT, request)  # a consumer that already has


@pytest.mark.parametrize("webhook_settings", [{"secret": WHSEC}], indirect=True)
async def test_each_attempt_is_signed_afresh_with_the_same_id(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (503, {}) if len(rig.consumer.requests) < 2 else (200, {})
    await rig.emit("alarm.raised")
    await rig.drain(limit=60, step=1)
    attempts = rig.consumer.requests
    assert len(attempts) == 3
    assert len({r.headers["webhook-id"] for r in attempts}) == 1
    stamps = [int(r.headers["webhook-timestamp"]) for r in attempts]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    for request in attempts:
        verify(WHSEC, request)


async def test_an_older_free_form_secret_verifies_as_raw_key_bytes_and_the_legacy_header_stays(
        rig: Rig) -> None:
    """The transition: subscriptions with a secret from before Standard Webhooks keep working,
    and consumers still checking Navet-Signature keep verifying it."""
    await rig.emit("alarm.raised")
    assert await rig.deliver_now() == 1
    (request,) = rig.consumer.requests
    verify(SECRET.encode("utf-8"), request)  # the library takes the key as bytes
    assert request.headers["navet-subscription"] == SUB
    assert doc_verifier()(request.headers["navet-signature"], request.body, [SECRET],
                          now=rig.clock.now().timestamp())


@pytest.mark.parametrize("webhook_settings", [{"secret": WHSEC, "legacy_signature": False}],
                         indirect=True)
async def test_the_legacy_header_can_be_switched_off(rig: Rig) -> None:
    await rig.emit("alarm.raised")
    assert await rig.deliver_now() == 1
    (request,) = rig.consumer.requests
    assert "navet-signature" not in request.headers
    verify(WHSEC, request)


@pytest.mark.parametrize(("secret", "complaint"), [
    ("whsec_not*base64!", "base64"),
    ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
])
async def test_bad_whsec_secrets_are_refused_naming_the_problem(
        tmp_path: Any, secret: str, complaint: str) -> None:
    from types import SimpleNamespace

    from gateway import FakeClock
    from plugins.webhooks.sink import WebhookSink

    services = SimpleNamespace(subscription=SimpleNamespace(id="x"), clock=FakeClock())
    with pytest.raises(ValueError, match=complaint) as caught:
        WebhookSink({"url": "https://larmcentral.example.se/hook", "secret": secret}, services)
    assert secret not in str(caught.value)
