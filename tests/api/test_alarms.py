"""The operator alarm API over HTTP: lifecycle, stale transitions, idempotency, tenants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import FakeClock, make_event
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings

from .conftest import CARE

BASE = "/api/v1/alarms"
STAFF = [
    {"id": "op-1", "label": "Larmoperatör", "roles": ["alarm_operator"]},
    {"id": "op-2", "roles": ["alarm_operator"]},
    {"id": "s-17", "label": "Undersköterska", "roles": ["home_care"], "teams": ["team-norr"]},
]


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    """The API fixtures' care configuration, plus staff and teams for Västerås."""
    care = json.loads(json.dumps(CARE))
    care["tenants"][0]["staff"] = STAFF
    path = tmp_path / "care.json"
    path.write_text(json.dumps(care), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                    adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
                    care_config=[path])


async def raise_alarm(gw: Gateway, clock: FakeClock, alarm: str = "a-1", *,
                      priority: str = "high", tenant: str = "vasteras",
                      kind: str = "fall") -> None:
    await gw.emit([make_event(
        "alarm.raised", tenant=tenant, time=clock.now(),
        source={"adapter": "scaip", "protocol": "scaip", "ref": alarm},
        device={"id": "zigbee2mqtt:bed", "kind": "passive_sensor"}, resident="r-1",
        alarm=alarm, priority=priority, location={"text": "Bedroom"},
        data={"kind": kind, "text": "from the sensor"},
    )])


def as_(actor: str, key: str | None = None) -> dict[str, str]:
    headers = {"X-Navet-Actor": actor}
    if key:
        headers["Idempotency-Key"] = key
    return headers


async def post(client: httpx.AsyncClient, alarm: str, command: str, actor: str = "op-1",
               body: dict[str, Any] | None = None, tenant: str = "vasteras",
               key: str | None = None) -> httpx.Response:
    return await client.post(f"{BASE}/{alarm}/{command}", params={"tenant": tenant},
                             json=body, headers=as_(actor, key))


def stored_types(gw: Gateway, alarm: str) -> list[str]:
    return [s.event.type for s in gw.store.query_events("vasteras", alarm=alarm, limit=100)]


async def test_whole_lifecycle_through_http(client: httpx.AsyncClient, gw: Gateway,
                                            clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    listed = (await client.get(BASE, params={"tenant": "vasteras"})).json()["items"]
    [view] = [a for a in listed if a["id"] == "a-1"]
    assert (view["state"], view["priority"], view["kind"], view["resident"], view["device"]) == (
        "raised", "high", "fall", "r-1", "zigbee2mqtt:bed")
    assert view["location"] == {"text": "Bedroom"}
    assert [h["type"] for h in view["history"]] == ["alarm.raised"]

    await clock.advance(20)
    ack = await post(client, "a-1", "acknowledge")
    assert ack.status_code == 200, ack.text
    assert (ack.json()["state"], ack.json()["repeated"]) == ("acknowledged", False)
    assert ack.json()["event"]["data"]["by"] == {"kind": "operator", "id": "op-1",
                                                 "name": "Larmoperatör"}
    sent = await post(client, "a-1", "dispatch", body={"team": "team-norr", "name": "Norr"})
    assert sent.json()["state"] == "dispatched"
    assert sent.json()["event"]["data"]["to"] == {"kind": "staff", "id": "team-norr",
                                                  "name": "Norr"}
    note = await post(client, "a-1", "notes", body={"text": "door code given"})
    assert note.json()["event"]["data"]["text"] == "[operator op-1] door code given"
    await clock.advance(600)
    there = await post(client, "a-1", "attend", actor="s-17")
    assert there.json()["state"] == "attended"
    assert there.json()["event"]["data"]["by"]["kind"] == "staff"
    closed = await post(client, "a-1", "close", actor="s-17",
                        body={"outcome": "assistance_given", "note": "helped up"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["state"] == "closed"

    one = (await client.get(f"{BASE}/a-1", params={"tenant": "vasteras"})).json()
    assert one["state"] == "closed" and one["outcome"] == "assistance_given"
    assert [h["type"] for h in one["history"]] == [
        "alarm.raised", "alarm.acknowledged", "alarm.dispatched", "alarm.updated",
        "alarm.attended", "alarm.closed"]
    assert one["closed_by"]["id"] == "s-17"
    listed = (await client.get(BASE, params={"tenant": "vasteras"})).json()["items"]
    assert "a-1" not in [a["id"] for a in listed]


async def test_repeating_a_command_returns_the_same_event_and_stores_nothing(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    first = await post(client, "a-1", "acknowledge", key="k-1")
    await clock.advance(5)
    again = await post(client, "a-1", "acknowledge", key="k-1")
    assert again.status_code == 200
    assert again.json()["repeated"] is True and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["event"] == first.json()["event"]
    await post(client, "a-1", "dispatch", body={"staff": "s-17"})
    late_retry = await post(client, "a-1", "acknowledge")  # a retry arriving after a dispatch
    assert late_retry.status_code == 200 and late_retry.json()["repeated"] is True
    assert late_retry.json()["state"] == "dispatched"
    await post(client, "a-1", "dispatch", body={"staff": "s-17"})
    assert stored_types(gw, "a-1") == ["alarm.raised", "alarm.acknowledged", "alarm.dispatched"]

    await post(client, "a-1", "close", body={"outcome": "false_alarm"})
    same = await post(client, "a-1", "close", body={"outcome": "false_alarm"})
    assert same.status_code == 200 and same.json()["repeated"] is True
    other = await post(client, "a-1", "close", body={"outcome": "assistance_given"})
    assert other.status_code == 409 and other.json()["state"] == "closed"
    assert stored_types(gw, "a-1").count("alarm.closed") == 1


async def test_notes_repeat_by_text_or_by_idempotency_key(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    await post(client, "a-1", "notes", body={"text": "called the resident"})
    retry = await post(client, "a-1", "notes", body={"text": "called the resident"})
    assert retry.json()["repeated"] is True
    await post(client, "a-1", "notes", body={"text": "no answer"}, key="n-1")
    await post(client, "a-1", "notes", body={"text": "no answer"}, key="n-2")
    keyed_retry = await post(client, "a-1", "notes", body={"text": "no answer"}, key="n-2")
    assert keyed_retry.json()["repeated"] is True
    assert stored_types(gw, "a-1").count("alarm.updated") == 3


async def test_stale_transition_is_409_with_the_current_state(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    assert (await post(client, "a-1", "acknowledge", actor="op-1")).status_code == 200
    late = await post(client, "a-1", "acknowledge", actor="op-2")
    assert late.status_code == 409
    body = late.json()
    assert body["state"] == "acknowledged" and body["alarm"] == "a-1"
    assert "op-1" in body["detail"]
    assert body["current"]["acknowledged_by"]["id"] == "op-1"
    assert stored_types(gw, "a-1") == ["alarm.raised", "alarm.acknowledged"]


async def test_illegal_transitions_are_409_and_name_what_to_do(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    early = await post(client, "a-1", "close", body={"outcome": "false_alarm"})
    assert early.status_code == 409
    assert early.json()["state"] == "raised" and "acknowledge it first" in early.json()["detail"]
    assert (await post(client, "a-1", "attend")).json()["state"] == "raised"
    await post(client, "a-1", "acknowledge")
    await post(client, "a-1", "close", body={"outcome": "false_alarm"})
    for command, body in [("dispatch", {"team": "team-norr"}), ("attend", None),
                          ("notes", {"text": "too late"}), ("acknowledge", None)]:
        answer = await post(client, "a-1", command, actor="op-2", body=body)
        assert answer.status_code == 409, (command, answer.text)
        assert answer.json()["state"] == "closed"
    assert stored_types(gw, "a-1") == ["alarm.raised", "alarm.acknowledged", "alarm.closed"]


async def test_another_tenants_alarm_is_not_found(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    assert (await client.get(f"{BASE}/a-1", params={"tenant": "orebro"})).status_code == 404
    assert (await client.get(BASE, params={"tenant": "orebro"})).json()["items"] == []
    answer = await post(client, "a-1", "acknowledge", tenant="orebro")
    assert answer.status_code == 404
    assert stored_types(gw, "a-1") == ["alarm.raised"]
    unknown = await post(client, "nope", "acknowledge")
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]


async def test_bad_requests_name_what_was_wrong(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock)
    anonymous = await client.post(f"{BASE}/a-1/acknowledge", params={"tenant": "vasteras"})
    assert anonymous.status_code == 401 and "X-Navet-Actor" in anonymous.json()["detail"]
    await post(client, "a-1", "acknowledge")
    both = await post(client, "a-1", "dispatch", body={"team": "team-norr", "staff": "s-17"})
    assert both.status_code == 422 and "exactly one" in both.text
    stranger = await post(client, "a-1", "dispatch", body={"staff": "s-99"})
    assert stranger.status_code == 422 and "s-99" in stranger.json()["detail"]
    team = await post(client, "a-1", "dispatch", body={"team": "team-syd"})
    assert team.status_code == 422 and "team-norr" in team.json()["detail"]
    outcome = await post(client, "a-1", "close", body={"outcome": "fixed-it"})
    assert outcome.status_code == 422
    assert stored_types(gw, "a-1") == ["alarm.raised", "alarm.acknowledged"]


async def test_open_alarms_most_urgent_first_with_filters(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    await raise_alarm(gw, clock, "a-low", priority="low")
    await clock.advance(1)
    # another kind: the same kind from the same device would fold into the open alarm
    await raise_alarm(gw, clock, "a-crit", priority="critical", kind="passive.bed_exit")
    items = (await client.get(BASE, params={"tenant": "vasteras"})).json()["items"]
    assert [a["id"] for a in items][:2] == ["a-crit", "a-low"]
    low = (await client.get(BASE, params={"tenant": "vasteras", "priority": "low"})).json()
    assert [a["id"] for a in low["items"]] == ["a-low"]
    other = (await client.get(BASE, params={"tenant": "vasteras", "resident": "r-2"})).json()
    assert other["items"] == []


async def test_a_folded_alarm_id_gives_the_alarm_it_was_folded_into(
        client: httpx.AsyncClient, gw: Gateway, clock: FakeClock) -> None:
    """Issue 12: the device's second alarm of the same kind is a repeat of the open one."""
    await raise_alarm(gw, clock, "a-1")
    await clock.advance(5)
    await raise_alarm(gw, clock, "a-2")  # the same kind from the same device: folded
    assert gw.rules is not None
    await gw.rules.drain()
    items = (await client.get(BASE, params={"tenant": "vasteras"})).json()["items"]
    assert [(a["id"], a["state"], a["repeats"], a["folded"]) for a in items] == [
        ("a-1", "raised", 1, ["a-2"])]
    folded = (await client.get(f"{BASE}/a-2", params={"tenant": "vasteras"})).json()
    assert (folded["id"], folded["state"]) == ("a-1", "raised")  # not cancelled
    ack = await post(client, "a-2", "acknowledge")  # a person takes it by either id
    assert ack.status_code == 200 and ack.json()["alarm"] == "a-1"
    assert "alarm.cancelled" not in stored_types(gw, "a-2") + stored_types(gw, "a-1")
