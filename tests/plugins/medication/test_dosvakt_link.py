"""The Dosvakt push link over real HTTP: keys, answers, I'm-alive, outage and catch-up."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from gateway import FakeClock
from simulators import ScenarioRunner
from simulators.medication_cloud import DosvaktCloud
from simulators.medication_day import DoseScript

from .conftest import API_KEY, INSTANCE, TENANT, Served

LINK = "dosvakt:link-dosvakt-vasteras"


def taken(event_id: str = "e-1") -> dict[str, Any]:
    return {"events": [{
        "eventId": event_id, "type": "DOSE_TAKEN", "occurredAt": "2026-01-01T00:00:00Z",
        "device": {"serial": "DV-1"},
        "dose": {"pouchId": "P-1", "scheduledAt": "2026-01-01T00:00:00Z"}}]}


async def post(served: Served, body: Any, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        content = body if isinstance(body, str) else json.dumps(body)
        return await client.post(served.ingress, content=content,
                                 headers={"Content-Type": "application/json", **headers})


async def test_wrong_or_missing_key_is_401_and_leaves_no_trace(served: Served) -> None:
    before = served.gw.store.count_events(TENANT)
    for headers in ({}, {"X-Api-Key": "guess"}, {"Authorization": "Bearer guess"},
                    {"Authorization": f"Basic {API_KEY}"}):
        resp = await post(served, taken(), **headers)
        assert resp.status_code == 401, headers
        assert "API key" in resp.json()["detail"]
        assert API_KEY not in resp.text
    # garbage without a key is refused the same way: never decoded, never a dead letter
    assert (await post(served, "x" * 1000, **{"X-Api-Key": "guess"})).status_code == 401
    await served.settle()
    assert served.gw.store.count_events(TENANT) == before
    assert served.gw.store.count_dead_letters() == 0
    adapter = served.gw.adapter_instances["dosvakt-vasteras"]
    assert adapter.health()["auth_failures"] == 5


async def test_a_push_is_stored_once_and_answered_with_counts(served: Served) -> None:
    resp = await post(served, taken(), **{"X-Api-Key": API_KEY})
    assert resp.status_code == 200
    assert resp.json()["accepted"] == 1 and resp.json()["duplicates"] == 0
    again = await post(served, taken(), **{"Authorization": f"Bearer {API_KEY}"})
    assert again.status_code == 200
    assert again.json()["accepted"] == 0 and again.json()["duplicates"] == 1
    await served.settle()
    [ev] = served.events("medication.dose_taken")
    assert ev.device is not None and ev.device.id == "dosvakt:DV-1"
    assert ev.resident == "r-1001", "the resident comes from the configured device"


async def test_an_unreadable_batch_is_422_with_the_reason_and_one_dead_letter(
    served: Served
) -> None:
    bad = {"events": [{**taken()["events"][0], "occurredAt": "yesterday"}]}
    resp = await post(served, bad, **{"X-Api-Key": API_KEY})
    assert resp.status_code == 422
    assert "events[0]: occurredAt 'yesterday' is not an ISO 8601 time" in resp.json()["detail"]
    assert served.gw.store.count_dead_letters() == 1
    assert served.events("medication.") == []


async def test_im_alive_is_answered_and_marks_the_link_up(served: Served) -> None:
    cloud = DosvaktCloud(served.clock, served.ingress, API_KEY, {}, alive_s=120)
    try:
        answer = await cloud.alive("setup")
    finally:
        await cloud.stop()
    assert answer is not None
    assert answer["status"] == "ok" and answer["alive"] is True and answer["link"] == "up"
    await served.settle()
    [beat] = served.events("device.heartbeat", device=LINK)
    assert beat.data.interval_s == 120
    adapter = served.gw.adapter_instances["dosvakt-vasteras"]
    assert adapter.health()["alive_interval_s"] == 120 and adapter.health()["link"] == "up"


async def _run(served: Served, runner: ScenarioRunner, cloud: DosvaktCloud, until: float,
               step: float = 60) -> None:
    """Advance the scenario to ``until`` minute by minute, letting pushes land each step."""
    task = asyncio.create_task(runner.run(until=until))
    clock: FakeClock = served.clock
    while not task.done():
        await clock.advance(step)
        await cloud.drain()
        await served.settle()
    await task
    assert runner.failed == 0


async def test_cloud_outage_reports_the_link_down_and_catch_up_loses_and_doubles_nothing(
    served: Served
) -> None:
    script = DoseScript("DV-1", seed=5, misses_first=False)
    cloud = DosvaktCloud(served.clock, served.ingress, API_KEY, {"DV-1": script}, alive_s=300)
    runner = ScenarioRunner(served.clock)
    cloud.schedule(runner, days=1)
    try:
        await _run(served, runner, cloud, 3600)
        assert served.events("device.offline", device=LINK) == []
        sent_before = len(cloud.sent)

        cloud.outage()  # the vendor's cloud stops pushing; the dispenser goes on
        down_at = served.clock.now()
        await _run(served, runner, cloud, 3 * 3600)
        [offline] = served.events("device.offline", device=LINK)
        assert 0 < (offline.time - down_at).total_seconds() <= 300 + 60
        [lost] = [a for a in await served.gw.alarms.open_alarms(TENANT)
                  if a.kind == "technical.link_lost"]
        assert lost.device is not None and lost.device.id == LINK and lost.priority == "high"
        silent = [a for a in await served.gw.alarms.open_alarms(TENANT)
                  if a.kind == "technical.unit_silent"]
        assert silent == [], "one cause, one alarm: the dispensers behind the link are not silent"
        assert len(cloud.sent) == sent_before and cloud.queue, "events waited in the cloud"
        health = served.gw.adapter_health()[INSTANCE]
        assert health["link"] == "down" and health["down_since"] == offline.time.isoformat()
        backlog = len(cloud.queue)

        cloud.restore()
        await _run(served, runner, cloud, 4 * 3600)
        assert cloud.queue == []
        [online] = served.events("device.online", device=LINK)
        assert online.data.silent_s >= 2 * 3600 - 360
        assert [a for a in await served.gw.alarms.open_alarms(TENANT)
                if a.kind == "technical.link_lost"] == []
        assert served.gw.adapter_health()[INSTANCE]["link"] == "up"
        assert all(str(e.data.kind) != "technical.unit_silent"
                   for e in served.events("alarm.raised", device="dosvakt:DV-1"))

        stored = [e for e in served.events(device="dosvakt:DV-1")
                  if e.source.adapter == "dosvakt"]  # not what Navet derived from them
        assert len(stored) == len(cloud.sent) >= sent_before + backlog
        assert len({e.id for e in stored}) == len(stored)
        assert sorted(e.source.ref for e in stored) == sorted(e["eventId"] for e in cloud.sent)
        # the catch-up kept the time each thing happened, not when it arrived
        late = [e for e in stored if e.received and (e.received - e.time).total_seconds() > 3600]
        assert late, "events from the outage arrived late, stamped with when they happened"

        # a cloud that lost its bookkeeping and sends everything again: all duplicates
        count = served.gw.store.count_events(TENANT)
        replay = await cloud.replay_sent()
        assert replay == {"accepted": 0, "duplicates": len(cloud.sent)}
        await served.settle()
        assert served.gw.store.count_events(TENANT) == count
    finally:
        await cloud.stop()


async def test_gateway_unreachable_keeps_events_queued_until_it_answers(
    served: Served
) -> None:
    script = DoseScript("DV-1", seed=2)
    dead = served.ingress.replace(served.url, "http://127.0.0.1:9")  # nothing listens there
    cloud = DosvaktCloud(served.clock, dead, API_KEY, {"DV-1": script}, retry_s=30)
    runner = ScenarioRunner(served.clock)
    cloud.schedule(runner, days=1)
    try:
        await _run(served, runner, cloud, 600)
        assert cloud.failures > 0 and cloud.queue and cloud.sent == []
        queued = len(cloud.queue)
        cloud.url = served.ingress  # Navet is back
        await _run(served, runner, cloud, 660)
        assert cloud.queue == [] and len(cloud.sent) >= queued
        assert len([e for e in served.events(device="dosvakt:DV-1")
                    if e.source.adapter == "dosvakt"]) == len(cloud.sent)
    finally:
        await cloud.stop()
