"""Replay from a point in time, and the delivery state the subscriptions API shows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import NEXT_SECRET, SECRET, SUB, TENANT, Rig

ACTOR = {"X-Navet-Actor": "op-17"}


async def replay(rig: Rig, **params: str) -> dict[str, object]:
    response = await rig.api.post(f"/api/v1/subscriptions/{SUB}/replay",
                                  params={"tenant": TENANT, **params}, headers=ACTOR)
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    return body


async def test_replay_since_a_time_redelivers_exactly_those_events_with_the_same_ids(
    rig: Rig,
) -> None:
    before = [await rig.emit(resident="r-1"), await rig.emit(resident="r-2")]
    await rig.clock.advance(600)
    since = rig.clock.now()
    after = [await rig.emit(resident="r-1"), await rig.emit(resident="r-2"),
             await rig.emit("device.battery", resident=None, device="hub-1")]
    await rig.clock.advance(600)
    after.append(await rig.emit("alarm.closed", resident="r-1"))
    await rig.drain()
    first_round = rig.consumer.accepted_ids()
    assert sorted(first_round) == sorted(e.id for e in before + after)

    await rig.clock.advance(3600)
    answer = await replay(rig, since=since.isoformat())
    assert answer["queued"] == len(after)
    entries = [e for e in await rig.gateway.audit.entries(TENANT)
               if e.action == "subscription replay"]
    assert [(e.actor, e.detail["subscription"], e.detail["queued"]) for e in entries] == [
        ("op-17", SUB, len(after))]
    await rig.drain()
    again = rig.consumer.accepted_ids()[len(first_round):]
    assert sorted(again) == sorted(e.id for e in after)  # exactly those, same ids
    r1 = [e.id for e in after if e.resident == "r-1"]
    assert [i for i in again if i in r1] == r1  # in order per resident
    bodies = {r.event["id"]: r.body for r in rig.consumer.accepted}
    assert all(rig.consumer.accepted[len(first_round) + n].body == bodies[i]
               for n, i in enumerate(again))  # the same CloudEvent, byte for byte


async def test_replay_with_until_and_types_of_the_subscription(rig: Rig) -> None:
    t0 = rig.clock.now()
    a = await rig.emit(resident="r-1")
    await rig.clock.advance(60)
    b = await rig.emit(resident="r-1")
    await rig.clock.advance(60)
    await rig.emit(resident="r-1")
    await rig.drain()
    answer = await replay(rig, since=t0.isoformat(), until=(t0 + timedelta(seconds=61)).isoformat())
    assert answer["queued"] == 2
    await rig.drain()
    assert rig.consumer.accepted_ids()[3:] == [a.id, b.id]


@pytest.mark.parametrize("webhook_settings", [{"horizon": "PT10M"}], indirect=True)
async def test_replay_brings_dead_letters_back_and_does_not_double_waiting_ones(rig: Rig) -> None:
    rig.consumer.respond = lambda r: (503, {})
    dead = await rig.emit(resident="r-1")
    await rig.pump(15 * 60, step=30)
    assert [r["state"] for r in rig.rows()] == ["dead"]
    waiting = await rig.emit(resident="r-2")
    await rig.deliver_now()  # r-2's first attempt fails; it waits, pending
    answer = await replay(rig, since=(rig.clock.now() - timedelta(hours=1)).isoformat())
    assert answer["queued"] == 2
    assert [(r["state"], r["attempts"]) for r in rig.rows()] == [("pending", 0), ("pending", 1)]

    await rig.pump(15 * 60, step=30)  # the horizon counts again from the replay
    assert [r["state"] for r in rig.rows()] == ["dead", "dead"]
    rig.consumer.respond = lambda r: (200, {})
    await replay(rig, since=(rig.clock.now() - timedelta(hours=1)).isoformat())
    await rig.drain()
    assert sorted(rig.consumer.accepted_ids()) == sorted([dead.id, waiting.id])


async def test_replay_is_refused_clearly(rig: Rig) -> None:
    url = f"/api/v1/subscriptions/{SUB}/replay"
    since = rig.clock.now().isoformat()
    no_actor = await rig.api.post(url, params={"tenant": TENANT, "since": since})
    assert no_actor.status_code == 401 and "X-Navet-Actor" in no_actor.text
    naive = await rig.api.post(url, params={"tenant": TENANT, "since": "2026-01-01T00:00:00"},
                               headers=ACTOR)
    assert naive.status_code == 422 and "since" in naive.text
    backwards = await rig.api.post(url, params={"tenant": TENANT, "since": since,
                                                "until": "2025-01-01T00:00:00Z"}, headers=ACTOR)
    assert backwards.status_code == 422 and "must be after since" in backwards.text
    unknown = await rig.api.post("/api/v1/subscriptions/nope/replay",
                                 params={"tenant": TENANT, "since": since}, headers=ACTOR)
    assert unknown.status_code == 404 and "nope" in unknown.text


async def test_subscription_list_shows_delivery_state_and_no_secret(rig: Rig) -> None:
    async def state() -> dict[str, object]:
        response = await rig.api.get("/api/v1/subscriptions", params={"tenant": TENANT})
        assert response.status_code == 200
        assert SECRET not in response.text and NEXT_SECRET not in response.text
        (sub,) = response.json()
        assert sub["id"] == SUB and sub["sink"] == "webhook" and sub["running"]
        assert sub["target"]["url"] == rig.consumer.url and sub["target"]["signing_secrets"] == 1
        delivery: dict[str, object] = sub["delivery"]
        return delivery

    first = await rig.emit(resident="r-1")
    await rig.drain()
    delivered_at = rig.clock.now()
    rig.consumer.respond = lambda r: (503, {})
    await rig.clock.advance(60)
    await rig.emit(resident="r-1")
    await rig.emit(resident="r-1")
    await rig.deliver_now()
    s = await state()
    assert s["depth"] == 2 and s["dead_letters"] == 0 and s["delivered"] == 1
    assert s["last_event"] == first.id
    assert s["last_delivered"] == delivered_at.isoformat()
    assert "503" in str(s["last_error"]) and s["last_error_at"] == rig.clock.now().isoformat()
    assert s["oldest_pending"] == rig.clock.now().isoformat()

    other = await rig.api.get("/api/v1/subscriptions", params={"tenant": "orebro"})
    assert other.status_code == 404  # a tenant that does not exist sees nothing


def test_what_the_api_may_show_of_a_webhook_leaves_out_tokens_and_headers() -> None:
    from types import SimpleNamespace

    from gateway import FakeClock
    from plugins.webhooks.sink import WebhookSink

    services = SimpleNamespace(subscription=SimpleNamespace(id="x"), clock=FakeClock())
    sink = WebhookSink({"url": "https://hooks.example.se:8443/in?token=t0p-s3cret#frag",
                        "secret": SECRET, "next_secret": NEXT_SECRET,
                        "headers": {"Authorization": "Bearer b34rer"}}, services)
    shown = sink.describe()
    assert shown["url"] == "https://hooks.example.se:8443/in"
    assert shown["signing_secrets"] == 2
    assert not any(s in repr(shown) for s in ("t0p-s3cret", "b34rer", SECRET, NEXT_SECRET))
