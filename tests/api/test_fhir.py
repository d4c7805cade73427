"""The FHIR R5 facade over HTTP: conformance, read/search, paging, messages, tenants,
and topic-based subscriptions delivered to a real rest-hook endpoint and a websocket."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from gateway import Actor, FakeClock, make_event
from gateway.core.gateway import Gateway
from gateway.fhir import RESOURCE_TYPES
from gateway.testing import wait_until
from tests.services import free_port

from .conftest import frame, later

FHIR = "/fhir/r5"
V = {"tenant": "vasteras"}
OPERATOR = Actor(kind="operator", id="op-1")
WAIT_S = 10.0
REST_HOOK = {"system": "http://terminology.hl7.org/CodeSystem/subscription-channel-type",
             "code": "rest-hook"}
WEBSOCKET = {**REST_HOOK, "code": "websocket"}
ALARM_TOPIC = "urn:navet:fhir:SubscriptionTopic:alarm-lifecycle"


async def raise_alarm(gw: Gateway, clock: FakeClock, alarm: str = "a-1",
                      tenant: str = "vasteras", resident: str = "r-1") -> None:
    await gw.emit([make_event(
        "alarm.raised", tenant=tenant, time=clock.now(),
        source={"adapter": "scaip", "protocol": "scaip", "ref": alarm},
        device={"id": "zigbee2mqtt:bed", "kind": "passive_sensor"}, resident=resident,
        alarm=alarm, priority="high", data={"kind": "fall", "text": "fall detected"},
    )])


def entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if "resource" in e]


# --------------------------------------------------------------------------- conformance


async def test_metadata_lists_exactly_what_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{FHIR}/metadata")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    cap = r.json()
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "5.0.0"
    served = {res["type"]: res for res in cap["rest"][0]["resource"]}
    assert set(served) == {*RESOURCE_TYPES, "Subscription", "SubscriptionTopic"}
    assert [i["code"] for i in served["Task"]["interaction"]] == ["read", "search-type"]
    assert {p["name"] for p in served["Task"]["searchParam"]} == {
        "_id", "_lastUpdated", "patient", "subject", "status"}
    assert "create" in [i["code"] for i in served["Subscription"]["interaction"]]


async def test_errors_are_operation_outcomes(client: httpx.AsyncClient) -> None:
    cases = [
        (await client.get(f"{FHIR}/Task"), 400, "tenant"),  # no tenant
        (await client.get(f"{FHIR}/Task", params={"tenant": "nowhere"}), 404, "nowhere"),
        (await client.get(f"{FHIR}/Flag", params=V), 404, "Flag"),
        (await client.get(f"{FHIR}/Task", params={**V, "code": "fall"}), 400, "'code'"),
        (await client.get(f"{FHIR}/Task/nope", params=V), 404, "Task/nope"),
        (await client.post(f"{FHIR}/Task", params=V, json={}), 405, "POST"),
        (await client.get(f"{FHIR}/Task", params={**V, "_lastUpdated": "yesterday"}), 400,
         "_lastUpdated"),
    ]
    for response, status, needle in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["resourceType"] == "OperationOutcome", body
        assert needle in body["issue"][0]["diagnostics"]


# --------------------------------------------------------------------------- read / search


async def test_alarm_is_a_task_whose_history_names_who_did_what(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    await raise_alarm(gw, clock)
    await clock.advance(20)
    await gw.alarms.acknowledge("vasteras", "a-1", OPERATOR)
    [task] = entries((await client.get(f"{FHIR}/Task",
                                       params={**V, "patient": "Patient/r-1"})).json())
    assert task["status"] == "accepted"
    assert task["businessStatus"]["coding"][0]["code"] == "acknowledged"
    assert task["owner"]["identifier"]["value"] == "op-1"
    assert task["priority"] == "asap"
    _raised, acked = task["relevantHistory"]
    prov = (await client.get(f"{FHIR}/{acked['reference']}", params=V)).json()
    assert prov["activity"]["coding"][0]["code"] == "acknowledged"
    assert prov["agent"][0]["who"]["identifier"]["value"] == "op-1"
    assert prov["target"] == [{"reference": f"Task/{task['id']}"}]
    read = (await client.get(f"{FHIR}/Task/{task['id']}", params=V)).json()
    assert read == task
    assert entries((await client.get(f"{FHIR}/Task", params={**V, "status": "requested"})
                    ).json()) == []
    assert entries((await client.get(f"{FHIR}/Task", params={**V, "patient": "r-2"})
                    ).json()) == []


async def test_search_pages_with_next_links_that_keep_the_filters(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    for i in range(5):  # stored one second apart: meta.lastUpdated is when Navet stored it
        await gw.ingest(frame("vasteras", "bed", {"occupancy": i % 2 == 0}, later(i)))
        await clock.advance(1)
    await clock.advance(4)
    await gw.ingest(frame("vasteras", "door", {"contact": True}, later(9)))
    params = {**V, "patient": "Patient/r-1", "_count": "2"}
    seen: list[str] = []
    url: str | None = f"{FHIR}/Observation"
    first = True
    while url is not None:
        r = await client.get(url, params=params if first else None)
        first = False
        bundle = r.json()
        assert bundle["type"] == "searchset"
        seen += [o["id"] for o in entries(bundle)]
        assert all(o["subject"]["reference"] == "Patient/r-1" for o in entries(bundle))
        nxt = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        url = nxt.replace("http://navet", "") if nxt else None
    assert len(seen) == 5 == len(set(seen))
    later_only = (await client.get(f"{FHIR}/Observation", params={
        **V, "_lastUpdated": "ge2026-01-01T00:00:03Z"})).json()
    assert len(entries(later_only)) == 3  # seconds 3 and 4 of the bed, 9 of the door


async def test_patient_is_pseudonymous_and_device_is_associated(
    client: httpx.AsyncClient,
) -> None:
    [patient] = entries((await client.get(f"{FHIR}/Patient", params={**V, "_id": "r-1"})).json())
    assert patient["identifier"] == [{"system": "urn:navet:vasteras:resident", "value": "r-1"}]
    assert "name" not in patient and "birthDate" not in patient
    assert patient["meta"]["security"][0]["code"] == "PSEUDED"
    assocs = entries((await client.get(f"{FHIR}/DeviceAssociation",
                                       params={**V, "patient": "Patient/r-1"})).json())
    assert [a["device"]["reference"] for a in assocs] == ["Device/zigbee2mqtt.3abed"]
    device = (await client.get(f"{FHIR}/Device/zigbee2mqtt.3abed", params=V)).json()
    assert device["location"] == {"reference": "Location/home-r-1"}
    assert device["property"][0]["valueString"] == "Bedroom"


async def test_tenants_see_only_their_own_resources(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    await raise_alarm(gw, clock)
    [task] = entries((await client.get(f"{FHIR}/Task", params=V)).json())
    other = {"tenant": "orebro"}
    assert entries((await client.get(f"{FHIR}/Task", params=other)).json()) == []
    assert entries((await client.get(f"{FHIR}/Patient", params=other)).json()) == []
    assert (await client.get(f"{FHIR}/Task/{task['id']}", params=other)).status_code == 404
    prov = task["relevantHistory"][0]["reference"]
    assert (await client.get(f"{FHIR}/{prov}", params=other)).status_code == 404
    [ev] = gw.store.query_events("vasteras", types=["alarm.raised"])
    r = await client.get(f"{FHIR}/$event-message", params={**other, "event": ev.event.id})
    assert r.status_code == 404


async def test_event_message_starts_with_a_message_header(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock
) -> None:
    await raise_alarm(gw, clock)
    [ev] = gw.store.query_events("vasteras", types=["alarm.raised"])
    bundle = (await client.get(f"{FHIR}/$event-message",
                               params={**V, "event": ev.event.id})).json()
    assert bundle["type"] == "message"
    header, *rest = entries(bundle)
    assert header["resourceType"] == "MessageHeader"
    assert header["eventCoding"]["code"] == "alarm.raised"
    types = [r["resourceType"] for r in rest]
    assert types[:2] == ["Task", "Provenance"]
    assert {"Patient", "Device", "Location"} <= set(types)
    assert header["focus"] == [{"reference": f"{r['resourceType']}/{r['id']}"}
                               for r in rest[:2]]


# --------------------------------------------------------------------------- rest-hook


class Hook:
    """A real HTTP endpoint on a free local port that records what is POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.status = status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.received.append(json.loads(body))
                hook.headers.append(dict(self.headers))
                self.send_response(hook.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    async def wait_for(self, n: int) -> list[dict[str, Any]]:
        await wait_until(lambda: len(self.received) >= n, f"{n} notifications")
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


async def drained(gw: Gateway) -> None:
    """Wait until the outbox has nothing pending: every delivery has returned."""
    async def empty() -> bool:
        return not await gw.store.read(lambda conn: gw.store.outbox_depth())

    await wait_until(empty, "every delivery to return")


def status_of(bundle: dict[str, Any]) -> dict[str, Any]:
    first = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "SubscriptionStatus"
    return first


async def subscribe(client: httpx.AsyncClient, tenant: str = "vasteras",
                    **fields: Any) -> httpx.Response:
    body = {"resourceType": "Subscription", "status": "requested", "topic": ALARM_TOPIC,
            "channelType": REST_HOOK, "content": "full-resource", **fields}
    return await client.post(f"{FHIR}/Subscription", params={"tenant": tenant}, json=body)


async def test_rest_hook_gets_handshake_then_raise_and_acknowledge(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, hook: Hook
) -> None:
    r = await subscribe(client, endpoint=hook.url,
                        parameter=[{"name": "Authorization", "value": "Bearer s3cret"}])
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "active"
    [handshake] = await hook.wait_for(1)
    assert status_of(handshake)["type"] == "handshake"
    assert hook.headers[0]["Authorization"] == "Bearer s3cret"
    assert hook.headers[0]["Content-Type"] == "application/fhir+json"

    await raise_alarm(gw, clock)
    raised = (await hook.wait_for(2))[1]
    st = status_of(raised)
    assert st["type"] == "event-notification"
    [note] = st["notificationEvent"]
    assert note["eventNumber"] == "1"
    task = next(e for e in entries(raised) if e["resourceType"] == "Task")
    assert note["focus"] == {"reference": f"Task/{task['id']}"}
    assert task["status"] == "requested"

    await clock.advance(15)
    await gw.alarms.acknowledge("vasteras", "a-1", OPERATOR)
    acked = (await hook.wait_for(3))[2]
    [note] = status_of(acked)["notificationEvent"]
    assert note["eventNumber"] == "2"
    task = next(e for e in entries(acked) if e["resourceType"] == "Task")
    assert task["status"] == "accepted"
    prov = next(e for e in entries(acked) if e["resourceType"] == "Provenance")
    assert prov["agent"][0]["who"]["identifier"]["value"] == "op-1"
    assert status_of(acked)["eventsSinceSubscriptionStart"] == "2"
    read = (await client.get(f"{FHIR}/Subscription/{sub['id']}", params=V)).json()
    assert read["status"] == "active" and read["endpoint"] == hook.url


async def test_patient_filter_and_tenant_isolation_of_notifications(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, hook: Hook
) -> None:
    other = Hook()
    try:
        mine = await subscribe(client, endpoint=hook.url, content="id-only",
                               filterBy=[{"filterParameter": "patient", "value": "Patient/r-2"}])
        theirs = await subscribe(client, tenant="orebro", endpoint=other.url)
        assert mine.status_code == theirs.status_code == 201
        await hook.wait_for(1)
        await other.wait_for(1)
        await raise_alarm(gw, clock, "a-1", resident="r-1")  # filtered out
        await raise_alarm(gw, clock, "a-2", resident="r-2")
        got = await hook.wait_for(2)
        [note] = status_of(got[1])["notificationEvent"]
        assert note["eventNumber"] == "1"
        assert got[1]["entry"][1]["fullUrl"].endswith(note["focus"]["reference"])
        assert "resource" not in got[1]["entry"][1]  # id-only
        assert len(other.received) == 1  # orebro got its handshake, nothing of Västerås
        r = await client.get(f"{FHIR}/Subscription/{mine.json()['id']}",
                             params={"tenant": "orebro"})
        assert r.status_code == 404
    finally:
        other.close()


async def test_heartbeat_when_nothing_else_was_sent(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, hook: Hook
) -> None:
    assert (await subscribe(client, endpoint=hook.url, heartbeatPeriod=60)).status_code == 201
    await hook.wait_for(1)
    await clock.advance(61)
    beat = (await hook.wait_for(2))[1]
    assert status_of(beat)["type"] == "heartbeat"
    await clock.advance(30)
    await raise_alarm(gw, clock)  # a notification at 91 s restarts the period
    await hook.wait_for(3)
    await drained(gw)  # the sink has finished that delivery (and noted when)
    await clock.advance(50)  # 141 s: 50 s after the notification, no heartbeat yet
    assert [status_of(b)["type"] for b in hook.received] == [
        "handshake", "heartbeat", "event-notification"]
    await clock.advance(15)  # 156 s: 65 s after it
    assert status_of((await hook.wait_for(4))[3])["type"] == "heartbeat"


async def test_unreachable_endpoint_is_error_and_refusals_name_the_problem(
    client: httpx.AsyncClient,
) -> None:
    r = await subscribe(client, endpoint=f"http://127.0.0.1:{free_port()}/gone")
    assert r.status_code == 201 and r.json()["status"] == "error"
    assert "last error" in r.json()["reason"]
    bad = await subscribe(client, endpoint="ftp://x", topic="urn:example:nope",
                          filterBy=[{"filterParameter": "code", "value": "fall"}])
    assert bad.status_code == 422
    text = json.dumps(bad.json())
    assert "unknown topic" in text and "http(s) endpoint" in text


# --------------------------------------------------------------------------- websocket


async def test_websocket_binds_with_a_token_and_receives_the_alarm(
    server: str, gw: Gateway, clock: FakeClock
) -> None:
    async with httpx.AsyncClient(base_url=server, timeout=WAIT_S) as http:
        r = await http.post(f"{FHIR}/Subscription", params=V, json={
            "resourceType": "Subscription", "status": "requested", "topic": ALARM_TOPIC,
            "channelType": WEBSOCKET, "content": "id-only"})
        assert r.status_code == 201, r.text
        sub = r.json()
        params = (await http.post(f"{FHIR}/Subscription/{sub['id']}/$get-ws-binding-token",
                                  params=V)).json()
    values = {p["name"]: next(v for k, v in p.items() if k.startswith("value"))
              for p in params["parameter"]}
    assert values["websocket-url"].startswith("ws://")
    async with connect(values["websocket-url"]) as ws:
        await ws.send(f"bind-with-token: {values['token']}")
        async with asyncio.timeout(WAIT_S):
            handshake = json.loads(await ws.recv())
            assert status_of(handshake)["type"] == "handshake"
            await raise_alarm(gw, clock)
            event = json.loads(await ws.recv())
    [note] = status_of(event)["notificationEvent"]
    assert note["eventNumber"] == "1" and note["focus"]["reference"].startswith("Task/")


async def test_endpoint_down_keeps_the_notification_and_its_number(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, hook: Hook
) -> None:
    sub = (await subscribe(client, endpoint=hook.url, content="id-only")).json()
    await hook.wait_for(1)
    hook.status = 503  # the alarm centre's endpoint is down
    await raise_alarm(gw, clock)
    await hook.wait_for(2)  # tried, refused
    hook.status = 200
    await clock.advance(600)  # past the outbox backoff
    delivered = (await hook.wait_for(3))[2]
    [note] = status_of(delivered)["notificationEvent"]
    assert note["eventNumber"] == "1"  # the retry kept its number
    assert status_of(hook.received[1])["notificationEvent"][0]["eventNumber"] == "1"

    status = (await client.get(f"{FHIR}/Subscription/{sub['id']}/$status", params=V)).json()
    assert status_of(status)["type"] == "query-status"
    assert status_of(status)["eventsSinceSubscriptionStart"] == "1"
    await gw.alarms.acknowledge("vasteras", "a-1", OPERATOR)
    await hook.wait_for(4)
    events = (await client.get(f"{FHIR}/Subscription/{sub['id']}/$events",
                               params={**V, "eventsSinceNumber": "1",
                                       "content": "full-resource"})).json()
    st = status_of(events)
    assert st["type"] == "query-event"
    assert [n["eventNumber"] for n in st["notificationEvent"]] == ["1", "2"]
    [task] = [r for r in entries(events) if r["resourceType"] == "Task"]
    assert task["status"] == "accepted"  # one Task entry, in its latest state


async def test_a_subscription_survives_a_restart(
    client: httpx.AsyncClient, gw: Gateway, hook: Hook, api_settings: Any,
    clock: FakeClock, broker: Any,
) -> None:
    sub = (await subscribe(client, endpoint=hook.url)).json()
    await hook.wait_for(1)
    await gw.stop()
    again = Gateway(api_settings, clock=clock, mqtt=broker.client("navet-2"))
    await again.start()
    try:
        await raise_alarm(again, clock)
        st = status_of((await hook.wait_for(2))[1])
        assert st["subscription"] == {"reference": f"Subscription/{sub['id']}"}
        assert st["notificationEvent"][0]["eventNumber"] == "1"
    finally:
        await again.stop()
        await gw.start()  # the app's lifespan stops it again at the end


async def test_after_its_end_a_subscription_is_off_and_sends_nothing(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, hook: Hook
) -> None:
    sub = (await subscribe(client, endpoint=hook.url, end="2026-01-01T00:01:00Z")).json()
    await hook.wait_for(1)
    await raise_alarm(gw, clock, "a-1")
    await hook.wait_for(2)
    await clock.advance(120)
    await raise_alarm(gw, clock, "a-2")
    await gw.alarms.acknowledge("vasteras", "a-1", OPERATOR)

    async def off() -> dict[str, Any]:
        return (await client.get(f"{FHIR}/Subscription/{sub['id']}", params=V)).json()

    async with asyncio.timeout(WAIT_S):
        while (await off())["status"] != "off":
            await asyncio.sleep(0.05)
    assert len(hook.received) == 2  # the handshake and the alarm raised before the end
    assert "ended at 2026-01-01T00:01:00Z" in (await off())["reason"]


async def test_with_authentication_refusals_are_operation_outcomes_too(
    api_settings: Any, clock: FakeClock, broker: Any
) -> None:
    from gateway.api import create_app
    from gateway.core.security.tokens import LocalKeys, issue_token

    settings = api_settings.model_copy(update={"auth": api_settings.auth.model_copy(
        update={"mode": "local"})})
    app = create_app(gateway=Gateway(settings, clock=clock, mqtt=broker.client("navet")))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://navet") as c:
        tok = issue_token(LocalKeys(settings.data_dir / "keys"), subject="op-1",
                          tenants=["orebro"], roles=["operator"], issuer="navet",
                          audience="navet-api", ttl_s=3600)
        none = await c.get(f"{FHIR}/Task", params=V)
        assert none.status_code == 401
        assert none.headers["www-authenticate"].startswith("Bearer")
        assert none.json()["issue"][0]["code"] == "login"
        other = await c.get(f"{FHIR}/Task", params=V, headers={"Authorization": f"Bearer {tok}"})
        assert other.status_code == 403 and other.json()["resourceType"] == "OperationOutcome"
        own = await c.get(f"{FHIR}/Task", params={"tenant": "orebro"},
                          headers={"Authorization": f"Bearer {tok}"})
        assert own.status_code == 200 and own.json()["type"] == "searchset"


async def test_what_the_http_api_answers_is_valid_by_hl7s_own_definitions(
    client: httpx.AsyncClient, gw: Gateway, clock: FakeClock, hook: Hook
) -> None:
    """Everything on the wire, not only the mapping: checked against hl7.fhir.r5.core."""
    from tests.fhir.r5_definitions import R5Definitions, missing_reason, package_dir
    from tests.services import unavailable

    directory = package_dir()
    if directory is None:
        unavailable("the official FHIR R5 definitions (hl7.fhir.r5.core 5.0.0)",
                    missing_reason())
    assert directory is not None
    r5 = R5Definitions(directory)
    sub = (await subscribe(client, endpoint=hook.url)).json()
    await raise_alarm(gw, clock)
    await gw.ingest(frame("vasteras", "bed", {"occupancy": True, "battery": 9}, later(1)))
    await clock.advance(10)
    await gw.alarms.acknowledge("vasteras", "a-1", OPERATOR)
    await hook.wait_for(3)
    answers: list[dict[str, Any]] = [sub, *hook.received,
                                     (await client.get(f"{FHIR}/metadata")).json()]
    for rtype in [*RESOURCE_TYPES, "Subscription", "SubscriptionTopic"]:
        answers.append((await client.get(f"{FHIR}/{rtype}", params=V)).json())
    [ev] = gw.store.query_events("vasteras", types=["alarm.acknowledged"])
    answers.append((await client.get(f"{FHIR}/$event-message",
                                      params={**V, "event": ev.event.id})).json())
    answers.append((await client.get(f"{FHIR}/Subscription/{sub['id']}/$events",
                                      params=V)).json())
    answers.append((await client.get(f"{FHIR}/Nope", params=V)).json())
    assert sum(len(a.get("entry", [])) for a in answers) > 20
    for answer in answers:
        assert r5.schema_errors(answer) == [], answer.get("resourceType")
        assert r5.definition_errors(answer) == [], answer.get("resourceType")
