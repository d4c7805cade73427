"""Portvakt webhooks: only authentic, fresh, first deliveries are stored."""

from __future__ import annotations

import json
import time

import httpx

from plugins.locks.portvakt.signing import sign

from .conftest import SECRET, Rig


def body(event_id: str = "evt_x1") -> bytes:
    return json.dumps({"event_id": event_id, "type": "access.unlocked",
                       "occurred_at": "2026-01-05T06:45:00+00:00",
                       "lock": {"id": "PV-1"}, "actor": {"type": "thumb_turn"}}).encode()


async def post(rig: Rig, payload: bytes, ts: int, signature: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=rig.url) as client:
        return await client.post(
            "/ingress/portvakt-vasteras/events", content=payload,
            headers={"X-Portvakt-Timestamp": str(ts), "X-Portvakt-Signature": signature,
                     "Content-Type": "application/json"})


async def test_a_signed_fresh_webhook_is_stored(rig: Rig) -> None:
    ts = int(time.time())
    resp = await post(rig, body(), ts, sign(SECRET, ts, body()))
    assert resp.status_code == 200, resp.text
    [event] = rig.events("lock.unlocked")
    assert event.data.method == "manual" and event.resident == "r-1"


async def test_a_bad_signature_is_refused_and_nothing_stored(rig: Rig) -> None:
    ts = int(time.time())
    resp = await post(rig, body(), ts, sign("not-the-secret-at-all", ts, body()))
    assert resp.status_code == 401 and "signature does not match" in resp.text
    tampered = body().replace(b"thumb_turn", b"integration")
    resp = await post(rig, tampered, ts, sign(SECRET, ts, body()))
    assert resp.status_code == 401
    resp = await post(rig, body(), ts, "")
    assert resp.status_code == 401 and "missing" in resp.text
    assert rig.events("lock.") == []


async def test_stale_and_replayed_webhooks_are_refused(rig: Rig) -> None:
    old = int(time.time()) - 3600
    resp = await post(rig, body(), old, sign(SECRET, old, body()))
    assert resp.status_code == 401 and "stale or replayed" in resp.text
    future = int(time.time()) + 3600
    resp = await post(rig, body(), future, sign(SECRET, future, body()))
    assert resp.status_code == 401
    assert rig.events("lock.") == []
    ts = int(time.time())
    first = await post(rig, body("evt_r1"), ts, sign(SECRET, ts, body("evt_r1")))
    assert first.status_code == 200
    again = await post(rig, body("evt_r1"), ts, sign(SECRET, ts, body("evt_r1")))
    assert again.status_code == 409 and "replay" in again.text
    assert len(rig.events("lock.unlocked")) == 1


async def test_an_authentic_but_unreadable_body_is_kept_as_a_dead_letter(rig: Rig) -> None:
    bad = b'{"event_id": "evt_b", "type": "access.teleported", "occurred_at": ' \
          b'"2026-01-05T06:45:00+00:00", "lock": {"id": "PV-1"}}'
    ts = int(time.time())
    resp = await post(rig, bad, ts, sign(SECRET, ts, bad))
    assert resp.status_code == 202 and "unknown event type" in resp.text
    [dead] = rig.gw.store.dead_letters("vasteras")
    assert "access.teleported" in dead["reason"]
