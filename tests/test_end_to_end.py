"""One alarm, every consumer, and the operator's acknowledgement back to the device.

A simulated SCAIP unit raises an alarm over real SIP. Navet holds it (HOLD)
and hands it to: the operator's live stream (SSE), MQTT northbound
(CloudEvents), a signed webhook, a FHIR R5 rest-hook subscription and a
legacy alarm receiving centre over SIA DC-09 (pysiaalarm, an independent
receiver). The operator acknowledges through the operator API; the unit's
next poll is answered ``snu=0``, and the acknowledgement reaches the
consumers too. Each hop is asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gateway import FakeClock
from gateway.api import create_app
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from gateway.transports.base import MqttMessage
from gateway.transports.memory import MemoryBroker
from simulators.scaip import ScaipUnit
from tests.services import free_port

pysiaalarm = pytest.importorskip("pysiaalarm.aio", reason="pip install pysiaalarm")
from pysiaalarm import SIAAccount  # noqa: E402

SECRET = "end-to-end-webhook-secret-0123456789"
WAIT = 10.0


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Consumer:
    """Records every POST (webhook and FHIR rest-hook) and answers 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts: list[tuple[str, dict[str, str], bytes]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.posts.append((scope["path"], headers, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def at(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.posts if p == path]


async def _serve(app: Any, port: int, lifespan: str = "on") -> tuple[_Server, asyncio.Task[None]]:
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan,
                                    log_level="warning", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), "uvicorn to start")
    assert not task.done(), "uvicorn stopped during startup"
    return server, task


@pytest.fixture
async def rig(tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> AsyncIterator[Any]:
    consumer = Consumer()
    c_server, c_task = await _serve(consumer, consumer.port, lifespan="off")
    sia_events: list[Any] = []

    async def on_sia(event: Any) -> None:
        sia_events.append(event)

    sia_port = free_port()
    sia = pysiaalarm.SIAClient("127.0.0.1", sia_port, [SIAAccount("1234", None)], on_sia)
    await sia.async_start()
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # every consumer runs on this machine
        adapters=[{"adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0, "units": {"unit7": {"password": "s3cret"}}}}],
        subscriptions=[
            {"id": "northbound", "tenant": "vasteras", "sink": "mqtt", "types": ["alarm."]},
            {"id": "webhook", "tenant": "vasteras", "sink": "webhook", "types": ["alarm."],
             "settings": {"url": f"http://127.0.0.1:{consumer.port}/webhook",
                          "secret": SECRET}},
            {"id": "arc-dc09", "tenant": "vasteras", "sink": "dc09",
             "types": ["alarm.raised", "alarm.cancelled"],
             "settings": {"receivers": [{"host": "127.0.0.1", "port": sia_port}],
                          "account": "1234", "ack_timeout_s": 5}},
        ],
    )
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    api_port = free_port()
    a_server, a_task = await _serve(create_app(gateway=gw), api_port)
    try:
        yield gw, f"http://127.0.0.1:{api_port}", consumer, sia_events
    finally:
        a_server.should_exit = True
        await a_task
        await sia.async_stop()
        c_server.should_exit = True
        await c_task


async def test_alarm_reaches_every_consumer_and_the_acknowledgement_reaches_the_unit(
    rig: Any, clock: FakeClock, broker: MemoryBroker,
) -> None:
    gw, api, consumer, sia_events = rig
    mqtt_seen: list[MqttMessage] = []
    watcher = broker.client("alarm-centre-mqtt")
    await watcher.connect()

    async def keep(msg: MqttMessage) -> None:
        mqtt_seen.append(msg)

    await watcher.subscribe("navet/vasteras/events/#", keep)

    async with httpx.AsyncClient(base_url=api, timeout=WAIT) as http:
        # a FHIR R5 rest-hook subscription on the alarm lifecycle
        created = await http.post("/fhir/r5/Subscription", params={"tenant": "vasteras"},
                                  headers={"Content-Type": "application/fhir+json"}, json={
            "resourceType": "Subscription", "status": "requested",
            "topic": "urn:navet:fhir:SubscriptionTopic:alarm-lifecycle",
            "channelType": {"system": "http://terminology.hl7.org/CodeSystem/"
                                      "subscription-channel-type", "code": "rest-hook"},
            "endpoint": f"http://127.0.0.1:{consumer.port}/fhir", "content": "full-resource"})
        assert created.status_code == 201, created.text

        sse_lines: list[str] = []

        async def read_sse() -> None:
            async with http.stream("GET", "/api/v1/stream",
                                   params={"tenant": "vasteras", "type": "alarm."}) as resp:
                assert resp.status_code == 200
                async for line in resp.aiter_lines():
                    sse_lines.append(line)

        sse = asyncio.create_task(read_sse())
        await wait_until(lambda: gw.metrics.registry.get_sample_value("navet_stream_clients"),
                         "the operator's stream to connect")

        port = gw.adapter_instances["scaip-vasteras"].ports["udp"]
        unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", port), clock=clock, hold_max_s=600)
        await unit.start()
        try:
            assert await unit.register() == 200
            session = asyncio.create_task(unit.alarm("personal_button"))
            await wait_until(lambda: unit.holds >= 1, "HOLD for the unit")
            (raised,) = [s.event for s in gw.store.query_events("vasteras")
                         if s.event.type == "alarm.raised"]
            alarm = raised.alarm

            # hop: the operator's live stream
            await wait_until(lambda: "event: alarm.raised" in sse_lines, "the SSE stream")
            # hop: MQTT northbound, CloudEvents
            await wait_until(lambda: any(m.topic.endswith("alarm.raised") for m in mqtt_seen),
                             "MQTT northbound")
            ce = json.loads(next(m.payload for m in mqtt_seen
                                 if m.topic.endswith("alarm.raised")))
            assert ce["specversion"] == "1.0" and ce["id"] == raised.id
            # hop: the webhook, signed as contracts/webhooks.md says
            await wait_until(lambda: consumer.at("/webhook"), "the webhook")
            headers, body = consumer.at("/webhook")[0]
            stamp, sig = dict(p.split("=", 1) for p in headers["navet-signature"].split(","))\
                .values()
            expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body,
                                hashlib.sha256).hexdigest()
            assert hmac.compare_digest(sig, expected)
            assert json.loads(body)["id"] == raised.id
            # hop: the FHIR subscription gets a notification with the alarm's Task
            def fhir_tasks() -> list[dict[str, Any]]:
                out = []
                for _, b in consumer.at("/fhir"):
                    bundle = json.loads(b)
                    out += [e["resource"] for e in bundle.get("entry", [])
                            if e.get("resource", {}).get("resourceType") == "Task"]
                return out
            await wait_until(fhir_tasks, "a FHIR notification with a Task")
            assert json.loads(consumer.at("/fhir")[-1][1])["type"] == "subscription-notification"
            # hop: the legacy alarm receiving centre over DC-09
            await wait_until(lambda: sia_events, "the DC-09 receiver")
            assert sia_events[0].code == "QA" and sia_events[0].account == "1234"

            # the operator takes the alarm through the operator API
            ack = await http.post(f"/api/v1/alarms/{alarm}/acknowledge",
                                  params={"tenant": "vasteras"},
                                  headers={"X-Navet-Actor": "op-1"})
            assert ack.status_code == 200, ack.text
            # ... and the unit learns it at its next poll
            await clock.advance(10)
            final = await asyncio.wait_for(session, WAIT)
            assert final.snu == 0
            await wait_until(lambda: "event: alarm.acknowledged" in sse_lines, "SSE ack")
            await wait_until(lambda: any(m.topic.endswith("alarm.acknowledged") for m in mqtt_seen),
                             "MQTT ack")
            await wait_until(lambda: any(json.loads(b)["type"] == "alarm.acknowledged"
                                     for _, b in consumer.at("/webhook")), "webhook ack")
            await wait_until(lambda: any(t.get("status") != fhir_tasks()[0].get("status")
                                     or t.get("businessStatus") != fhir_tasks()[0].get(
                                         "businessStatus") for t in fhir_tasks()[1:]),
                             "FHIR Task update")
        finally:
            await unit.stop()
            sse.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await sse
            await watcher.disconnect()
