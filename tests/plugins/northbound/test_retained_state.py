"""The northbound MQTT sink: CloudEvents on events topics at QoS 1, and retained device state."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import FakeClock, MqttMessage, RawFrame, from_cloudevent, make_event
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from plugins.northbound.device_state import DeviceStateBook, state_topic
from plugins.northbound.mqtt_sink import MqttSink

T0 = datetime.fromisoformat("2026-01-01T00:00:00+00:00")
TENANT = "vasteras"
BED = "zigbee2mqtt:bed"
STATE = f"navet/{TENANT}/devices/{BED}/state"
CARE = {"tenants": [{"id": TENANT, "name": "Västerås", "residents": [{"id": "r-1"}],
                     "devices": [{"adapter": "zigbee2mqtt", "address": "bed",
                                  "kind": "passive_sensor", "resident": "r-1"}]}]}


def retained(broker: MemoryBroker, topic: str = STATE) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(broker.retained[topic].payload)
    return payload


# --------------------------------------------------------------------------- through the gateway


@pytest.fixture
async def gw(tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> AsyncIterator[Gateway]:
    care = tmp_path / "care.json"
    care.write_text(json.dumps(CARE), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        adapters=[{"adapter": "zigbee2mqtt", "tenant": TENANT}],
        subscriptions=[{"id": "mqtt-all", "tenant": TENANT, "sink": "mqtt"}],
    )
    gateway = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def z2m(gw: Gateway, body: dict[str, Any] | str, at: datetime, *,
              availability: bool = False) -> None:
    topic = "zigbee2mqtt/bed" + ("/availability" if availability else "")
    if isinstance(body, dict):
        body = json.dumps({**body, "last_seen": at.isoformat()})
    result = await gw.ingest(RawFrame("zigbee2mqtt", TENANT, "mqtt", topic, body.encode(), at))
    assert result.accepted, result.reason


async def delivered(gw: Gateway, broker: MemoryBroker) -> None:
    """Wait until the outbox has handed everything to the broker and the broker settled."""
    await wait_until(lambda: not gw.store.outbox_depth().get("mqtt-all", 0),
                     "the outbox to hand everything to the broker")
    async with asyncio.timeout(10):
        for client in broker.clients:
            await client.drain()


async def test_events_go_out_as_cloudevents_at_qos_1(gw: Gateway, broker: MemoryBroker) -> None:
    got: list[MqttMessage] = []

    async def on(msg: MqttMessage) -> None:
        got.append(msg)

    listener = broker.client("consumer")
    await listener.connect()
    await listener.subscribe(f"navet/{TENANT}/events/#", on, qos=1)
    await z2m(gw, {"occupancy": True, "battery": 90}, T0)
    await delivered(gw, broker)
    await listener.drain()
    assert [m.topic for m in got] == [f"navet/{TENANT}/events/sensor.reported",
                                      f"navet/{TENANT}/events/device.battery"]
    assert {(m.qos, m.retain) for m in got} == {(1, False)}
    ce = json.loads(got[1].payload)
    assert (ce["specversion"], ce["type"], ce["navettenant"]) == ("1.0", "device.battery", TENANT)
    assert from_cloudevent(ce).data.level_pct == 90  # type: ignore[attr-defined]
    await listener.disconnect()


async def test_device_state_is_retained_and_follows_device_events(
        gw: Gateway, broker: MemoryBroker) -> None:
    await z2m(gw, {"occupancy": True, "battery": 80}, T0)
    await delivered(gw, broker)
    state = retained(broker)
    assert broker.retained[STATE].retain and broker.retained[STATE].qos == 1
    assert (state["device"], state["kind"], state["status"], state["online"]) == (
        BED, "passive_sensor", "online", True)
    assert state["battery"]["level_pct"] == 80 and state["battery"]["low"] is False
    assert state["last_seen"] == "2026-01-01T00:00:00Z"
    assert "resident" not in state  # retained messages linger on the broker: no resident

    await z2m(gw, "offline", T0 + timedelta(minutes=5), availability=True)
    await delivered(gw, broker)
    state = retained(broker)
    assert (state["status"], state["online"]) == ("offline", False)
    assert state["battery"]["level_pct"] == 80  # what is not news is kept

    await z2m(gw, {"occupancy": False, "battery": 15}, T0 + timedelta(minutes=9))
    await z2m(gw, "online", T0 + timedelta(minutes=9), availability=True)
    await delivered(gw, broker)
    state = retained(broker)
    assert (state["status"], state["battery"]["level_pct"]) == ("online", 15)
    assert state["last_seen"] == "2026-01-01T00:09:00Z"

    late: list[dict[str, Any]] = []  # a dashboard connecting now gets the state at once

    async def on(msg: MqttMessage) -> None:
        late.append(json.loads(msg.payload))

    dashboard = broker.client("dashboard")
    await dashboard.connect()
    await dashboard.subscribe(f"navet/{TENANT}/devices/+/state", on)
    await dashboard.drain()
    assert [s["status"] for s in late] == ["online"]
    await dashboard.disconnect()


# --------------------------------------------------------------------------- the sink alone


def services(broker: MemoryBroker, name: str) -> SimpleNamespace:
    return SimpleNamespace(mqtt=broker.client(name), prefix="navet",
                           subscription=SimpleNamespace(tenant=TENANT))


def device_event(event_type: str, data: dict[str, Any], at: datetime,
                 device: str = BED, adapter: str = "zigbee2mqtt") -> Any:
    return make_event(event_type, tenant=TENANT, time=at, data=data,
                      source={"adapter": adapter, "protocol": adapter, "ref": f"{at}"},
                      device={"id": device, "kind": "passive_sensor"}, resident="r-1")


async def test_after_a_restart_the_state_is_seeded_from_the_retained_message(
        broker: MemoryBroker) -> None:
    first = MqttSink({}, services(broker, "before"))
    await first.mqtt.connect()
    await first.deliver(device_event("device.battery", {"level_pct": 55, "low": False}, T0))
    await first.mqtt.disconnect()

    second = MqttSink({}, services(broker, "after"))  # a new process: empty memory
    await second.mqtt.connect()
    await second.deliver(device_event("device.offline", {"reason": "no heartbeat"},
                                      T0 + timedelta(hours=1), adapter="navet"))
    await second.mqtt.drain()
    state = retained(broker)
    assert (state["status"], state["offline_reason"]) == ("offline", "no heartbeat")
    assert state["battery"]["level_pct"] == 55  # known before the restart, still there
    await second.mqtt.disconnect()


async def test_device_state_can_be_switched_off(broker: MemoryBroker) -> None:
    sink = MqttSink({"device_state": False}, services(broker, "quiet"))
    await sink.mqtt.connect()
    await sink.deliver(device_event("device.battery", {"level_pct": 55, "low": False}, T0))
    assert broker.retained == {}
    assert broker.published == 1


async def test_device_ids_are_escaped_into_one_topic_level(broker: MemoryBroker) -> None:
    sink = MqttSink({"prefix": "larm"}, services(broker, "odd"))
    await sink.mqtt.connect()
    await sink.deliver(device_event("device.tamper", {"active": True}, T0, device="dc09:12/3#+"))
    [topic] = broker.retained
    assert topic == "larm/vasteras/devices/dc09:12%2F3%23%2B/state"
    assert topic == state_topic("larm", TENANT, "dc09:12/3#+")
    assert retained(broker, topic)["tamper"] is True


def test_late_or_repeated_events_never_turn_the_state_back() -> None:
    book = DeviceStateBook()
    t = [T0 + timedelta(minutes=i) for i in range(4)]
    book.apply(device_event("device.battery", {"level_pct": 40, "low": False}, t[2]))
    book.apply(device_event("device.offline", {"reason": "link"}, t[3], adapter="navet"))
    # Delivered late: an older battery report and an older "online".
    book.apply(device_event("device.battery", {"level_pct": 90, "low": False}, t[0]))
    state = book.apply(device_event("device.online", {}, t[1], adapter="navet"))
    assert state is not None
    payload = state.as_payload()
    assert (payload["status"], payload["battery"]["level_pct"]) == ("offline", 40)
    assert payload["last_seen"] == "2026-01-01T00:02:00Z"  # navet's own events prove nothing
    assert book.apply(device_event("sensor.reported", {"readings": {"contact": True}},
                                   t[3])) is None  # moves last_seen, publishes nothing


def test_a_silent_unit_alarm_marks_the_device_offline() -> None:
    book = DeviceStateBook()
    alarm = make_event("alarm.raised", tenant=TENANT, time=T0,
                       source={"adapter": "navet", "protocol": "navet", "ref": "x"},
                       device={"id": BED, "kind": "passive_sensor"},
                       data={"kind": "technical.unit_silent"})
    state = book.apply(alarm)
    assert state is not None and state.as_payload()["status"] == "offline"
    assert book.apply(make_event(
        "alarm.raised", tenant=TENANT, time=T0, data={"kind": "fall"},
        source={"adapter": "z", "protocol": "z", "ref": "y"},
        device={"id": BED, "kind": "passive_sensor"})) is None


def test_published_state_matches_the_asyncapi_contract(broker: MemoryBroker) -> None:
    import yaml
    from jsonschema import Draft202012Validator

    from gateway.contracts import DEFAULT_DIR

    spec = yaml.safe_load((DEFAULT_DIR / "asyncapi.yaml").read_text(encoding="utf-8"))
    assert spec["channels"]["deviceState"]["address"] == "navet/{tenant}/devices/{device}/state"
    assert spec["operations"]["publishDeviceState"]["bindings"]["mqtt"]["retain"] is True
    validator = Draft202012Validator(spec["components"]["messages"]["deviceState"]["payload"])
    book = DeviceStateBook()
    book.apply(device_event("device.battery", {"level_pct": 40, "low": True}, T0))
    book.apply(device_event("device.fault", {"kind": "mains_lost", "active": True}, T0))
    state = book.apply(device_event("device.offline", {"reason": "link"}, T0, adapter="navet"))
    assert state is not None
    for example in [state.as_payload(), *validator.schema["examples"]]:
        assert not list(validator.iter_errors(example)), example
    assert state.as_payload()["faults"] == ["mains_lost"]


# --------------------------------------------------------------------------- a real broker


from tests.transports.conftest import (  # noqa: E402  # fixtures of the transport tests
    Inbox,
    mosquitto,  # noqa: F401  # fixture
    mqtt_client,  # noqa: F401  # fixture
    wait_until,
)


async def test_over_mosquitto_the_state_is_retained_and_survives_a_restart(
        mosquitto: Any, mqtt_client: Any) -> None:  # noqa: F811  # fixtures
    def sink(client: Any) -> MqttSink:
        return MqttSink({}, SimpleNamespace(mqtt=client, prefix="navet",
                                            subscription=SimpleNamespace(tenant=TENANT)))

    first = sink(await mqtt_client(mosquitto.port, "navet-before"))
    await first.deliver(device_event("device.battery", {"level_pct": 55, "low": False}, T0))
    await first.mqtt.disconnect()  # the gateway goes away; the broker keeps the state

    second = sink(await mqtt_client(mosquitto.port, "navet-after"))
    await second.deliver(device_event("device.offline", {"reason": "no heartbeat"},
                                      T0 + timedelta(hours=1), adapter="navet"))

    inbox = Inbox()
    dashboard = await mqtt_client(mosquitto.port, "dashboard")
    await dashboard.subscribe(f"navet/{TENANT}/devices/+/state", inbox)
    first_seen = (await inbox.wait_for(1))[0]
    assert first_seen.retain and first_seen.topic == STATE

    def complete() -> bool:
        last = json.loads(inbox.messages[-1].payload)
        return last["status"] == "offline" and (last["battery"] or {}).get("level_pct") == 55

    await wait_until(complete, "the state with the battery known before the restart")
