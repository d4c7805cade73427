"""What Navet publishes on MQTT is CloudEvents 1.0 as the CloudEvents project's own Python
SDK (PyPI ``cloudevents``) reads it: consumers need no Navet-specific parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import MqttMessage, from_cloudevent, make_event
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker
from plugins.northbound.mqtt_sink import MqttSink

sdk_json = pytest.importorskip("cloudevents.core.formats.json",
                               reason="pip install 'cloudevents>=2' (the test extra)")

T0 = datetime(2026, 1, 1, 22, 15, 3, 250000, tzinfo=UTC)
TENANT = "vasteras"


def events() -> list[Any]:
    source = {"adapter": "scaip", "protocol": "scaip", "ref": "m-1"}
    device = {"id": "scaip:unit-7", "kind": "social_alarm"}
    return [
        make_event("alarm.raised", tenant=TENANT, time=T0, resident="r-1", device=device,
                   source=source, alarm="scaip:unit-7:1", priority="high",
                   location={"text": "Sovrum", "point": {"lat": 59.61, "lon": 16.54}},
                   data={"kind": "fall", "text": "Fallarm"}),
        make_event("device.battery", tenant=TENANT, time=T0, device=device,
                   source={**source, "ref": "m-2"}, data={"level_pct": 12, "low": True}),
        make_event("position.reported", tenant=TENANT, time=T0, resident="r-1",
                   device={"id": "gps:w-1", "kind": "gps_alarm"},
                   source={"adapter": "stigfinnare", "protocol": "https", "ref": "p-1"},
                   data={"point": {"lat": 59.6, "lon": 16.5, "accuracy_m": 8},
                         "reason": "alarm"}),
    ]


async def test_every_published_event_parses_with_the_cloudevents_sdk() -> None:
    broker = MemoryBroker()
    consumer = broker.client("consumer")
    await consumer.connect()
    got: list[MqttMessage] = []

    async def keep(msg: MqttMessage) -> None:
        got.append(msg)

    await consumer.subscribe("navet/+/events/#", keep)
    sink = MqttSink({"device_state": False}, SimpleNamespace(
        mqtt=broker.client("navet"), prefix="navet", subscription=SimpleNamespace(tenant=TENANT)))
    await sink.mqtt.connect()
    sent = events()
    for event in sent:
        await sink.deliver(event)
    await wait_until(lambda: len(got) >= len(sent), "every event at the subscriber")

    fmt = sdk_json.JSONFormat()
    for event, msg in zip(sent, got, strict=True):
        assert msg.topic == f"navet/{TENANT}/events/{event.type}"
        ce = fmt.read(None, msg.payload)  # the SDK validates required attributes and names
        assert ce.get_specversion() == "1.0"
        assert (ce.get_id(), ce.get_type()) == (event.id, event.type)
        assert ce.get_source() == f"/navet/{TENANT}/{event.source.adapter}"
        assert ce.get_time() == event.time  # RFC 3339 with fractions, read back exactly
        assert ce.get_datacontenttype() == "application/json"
        assert ce.get_dataschema() == f"urn:navet:contract:v1:{event.type}"
        attributes = ce.get_attributes()
        assert attributes["navettenant"] == TENANT
        assert attributes.get("navetresident") == event.resident
        assert attributes.get("navetalarm") == event.alarm
        data = ce.get_data()
        assert isinstance(data, dict) and data["tenant"] == TENANT
        # and what the SDK read is the Navet event again
        again = from_cloudevent({**attributes, "time": json.loads(msg.payload)["time"],
                                 "data": data})
        assert again.model_dump() == event.model_dump()
        # the SDK writes it back as the same structured JSON object
        assert json.loads(fmt.write(ce)) == json.loads(msg.payload)
    await sink.mqtt.disconnect()
    await consumer.disconnect()
