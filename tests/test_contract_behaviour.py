"""The MQTT contract (contracts/asyncapi.yaml) against what a running gateway publishes.

``test_contracts.py`` proves the committed files match the code that generates
them; that says nothing about whether the code that *publishes* agrees. Here a
gateway runs with every adapter fed what it is built for: each adapter's golden
vectors (contracts/vectors/), a SCAIP unit over real SIP, a DC-09 panel over
real TCP, a Låsbro lock bridge on MQTT, and an operator taking an alarm through
its lifecycle. Everything it publishes is collected off the broker, then:

- every message is on a channel of the AsyncAPI, its event type one the
  channel lists, its payload valid against the contract's schemas;
- every stored event whose type the channel lists was published;
- every type the ``events`` channel lists is published once such an event is
  stored, and the types it names under ``x-navet-not-published`` are not
  (``device.heartbeat``: liveness is the retained device state instead).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from gateway import Actor, FakeClock, RawFrame
from gateway.contracts import DEFAULT_DIR, example_event
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.base import MqttMessage
from gateway.transports.memory import MemoryBroker
from simulators.dc09 import Dc09Transmitter
from simulators.locks_mqtt import BridgeLock, LasbroBridge
from simulators.scaip import ScaipUnit

START = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)  # after every vector's timestamps
PREFIX = "navet"
VECTORS = sorted(DEFAULT_DIR.glob("vectors/*/*.json"))
OPERATOR = Actor(kind="operator", id="op-contract")


@functools.cache
def asyncapi() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEFAULT_DIR / "asyncapi.yaml").read_text())
    return doc


def events_channel() -> dict[str, Any]:
    channel: dict[str, Any] = asyncapi()["channels"]["events"]
    return channel


def listed_types() -> list[str]:
    return list(events_channel()["parameters"]["type"]["enum"])


def not_published() -> dict[str, str]:
    return dict(events_channel().get("x-navet-not-published", {}))


@functools.cache
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def validate(schema: dict[str, Any], payload: Any) -> list[str]:
    """Messages of the independent validator (jsonschema), empty when valid."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(payload)]


def channel_of(topic: str) -> tuple[str, dict[str, str]] | None:
    """The AsyncAPI channel whose address ``topic`` matches, with the parameter values."""
    for name, channel in asyncapi()["channels"].items():
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(channel["address"]))
        m = re.fullmatch(pattern, topic)
        if m is not None:
            return name, m.groupdict()
    return None


def _vector_settings() -> dict[tuple[str, str], dict[str, Any]]:
    """(adapter, tenant) -> settings, from the vectors (those that need some carry them)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in VECTORS:
        frame = json.loads(path.read_text())["frame"]
        found.setdefault((path.parent.name, frame["tenant"]), dict(frame.get("settings", {})))
    return found


START_SETTINGS: dict[str, dict[str, Any]] = {
    # what an instance needs to start, beyond what decoding a vector needs
    "dosvakt": {"api_key_sha256": ["0" * 64]},
    "stigfinnare": {"organisation": "vectors", "secret": "s" * 32},
    "ugglan": {"register_webhook": False},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    adapters: list[dict[str, Any]] = [
        {"adapter": adapter, "tenant": tenant,
         "settings": {**vector_settings, **START_SETTINGS.get(adapter, {})}}
        for (adapter, tenant), vector_settings in _vector_settings().items()]
    driven: list[dict[str, Any]] = [
        {"adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0, "transports": ["udp"],
            "units": {"unit1": {"password": "s3cret", "hbi": 15}}}},
        {"adapter": "dc09", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "tcp_port": 0, "accounts": [{"account": "4321"}]}},
        {"adapter": "lasbro", "tenant": "vasteras"},
    ]
    # an instance the vectors already need (a SCAIP vector for vasteras, say) is the same
    # instance the devices below drive: one per (adapter, tenant), settings merged
    by_key = {(a["adapter"], a["tenant"]): a for a in adapters}
    for entry in driven:
        same = by_key.get((entry["adapter"], entry["tenant"]))
        if same is None:
            adapters.append(entry)
        else:
            same["settings"] = {**same.get("settings", {}), **entry.get("settings", {})}
    tenants = sorted({a["tenant"] for a in adapters})
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, adapters=adapters,
        subscriptions=[{"id": f"mqtt-{t}", "tenant": t, "sink": "mqtt", "types": ["*"]}
                       for t in tenants],
    )


@dataclass
class Observed:
    """What the broker carried under Navet's prefix."""

    messages: list[MqttMessage] = field(default_factory=list)

    async def take(self, msg: MqttMessage) -> None:
        self.messages.append(msg)

    def event_ids(self) -> set[str]:
        return {json.loads(m.payload)["id"] for m in self.messages
                if "/events/" in m.topic}


@dataclass
class Rig:
    gw: Gateway
    clock: FakeClock
    broker: MemoryBroker
    observed: Observed

    def stored(self) -> list[Any]:
        tenants = {s.tenant for s in self.gw.settings.subscriptions}
        return [s.event for t in sorted(tenants)
                for s in self.gw.store.query_events(t, limit=10_000)]

    async def published(self, events: dict[str, str], timeout: float = 15.0) -> None:
        """Wait (real time, bounded) until every event (id -> type) came off the broker."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not set(events) <= self.observed.event_ids():
            missing = sorted({events[i] for i in set(events) - self.observed.event_ids()})
            assert loop.time() < deadline, f"stored but never published: {missing}"
            await self.clock.advance(1)  # wakes outbox retries, should there be any
            await asyncio.sleep(0.02)


@pytest.fixture
async def rig(settings: Settings, clock: FakeClock) -> AsyncIterator[Rig]:
    broker = MemoryBroker()
    observed = Observed()
    watcher = broker.client("contract-watcher")
    await watcher.connect()
    await watcher.subscribe(f"{PREFIX}/#", observed.take, qos=1)
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        yield Rig(gw, clock, broker, observed)
    finally:
        await gw.stop()
        await watcher.disconnect()


async def _feed_vectors(gw: Gateway) -> None:
    for path in VECTORS:
        frame = json.loads(path.read_text())["frame"]
        adapter, tenant = path.parent.name, frame["tenant"]
        await gw.ingest(RawFrame(
            adapter=adapter, tenant=tenant, transport=frame.get("transport", "mqtt"),
            address=frame["address"], payload=str(frame["payload"]).encode(),
            received=datetime.fromisoformat(frame["received"]), meta=frame.get("meta", {}),
            instance=f"{adapter}-{tenant}"))


async def _drive_devices(rig: Rig) -> None:
    gw, clock = rig.gw, rig.clock
    unit = ScaipUnit("unit1", "s3cret", ("127.0.0.1", gw.adapter_instances["scaip-vasteras"]
                                         .ports["udp"]), clock=clock)
    await unit.start()
    tcp = gw.adapter_instances["dc09-vasteras"].tcp_address
    panel = Dc09Transmitter(tcp[0], tcp[1], account="4321", transport="tcp", clock=clock,
                            ack_timeout=5.0, retry_delay_s=0)
    bridge = LasbroBridge(rig.broker.client("lasbro-bridge"), clock,
                          locks={"LB-1": BridgeLock("LB-1")})
    try:
        assert await unit.register() == 200
        await unit.heartbeat(offer_hbi=True)
        for what in ("low_battery", "mains_lost", "mains_restored", "cancel"):
            await unit.event(what)
        await panel.send_sia("MA", "012")  # a medical alarm
        await panel.send_sia("AT", "000")  # mains trouble
        await panel.poll()
        await bridge.start()
        await bridge.happen("LB-1", "deny", src="pin", why="bad_pin")
        await bridge.happen("LB-1", "unlock", src="pin", uid="s-1")
        await bridge.happen("LB-1", "lock", src="knob")
        await bridge.happen("LB-1", "tamper", on=True)
        await bridge.happen("LB-1", "jam")
        await bridge.happen("LB-1", "batt", lvl=12)
        await bridge.mqtt.drain()
    finally:
        await panel.close()
        await unit.stop()


async def _run_an_alarm_through_its_life(gw: Gateway) -> None:
    open_alarms = [a for t in ("vasteras", "sala") for a in await gw.alarms.open_alarms(t)]
    assert open_alarms, "the devices raised no alarm to take through its life"
    alarm = open_alarms[0]
    await gw.alarms.acknowledge(alarm.tenant, alarm.id, OPERATOR)
    await gw.alarms.dispatch(alarm.tenant, alarm.id, OPERATOR,
                             Actor(kind="staff", id="s-contract"))
    await gw.alarms.attend(alarm.tenant, alarm.id, Actor(kind="staff", id="s-contract"))
    await gw.alarms.close(alarm.tenant, alarm.id, OPERATOR, outcome="assistance_given")


async def test_what_a_running_gateway_publishes_is_what_the_asyncapi_says(rig: Rig) -> None:
    await _feed_vectors(rig.gw)
    await _drive_devices(rig)
    await _run_an_alarm_through_its_life(rig.gw)

    stored = rig.stored()
    assert any(e.type == "device.heartbeat" for e in stored)  # the run has heartbeats
    listed = set(listed_types())
    await rig.published({e.id: e.type for e in stored if e.type in listed})
    # every stored event whose type is on the channel was published (just awaited); none
    # of a type the channel does not list was
    unlisted = {e.id for e in stored if e.type not in listed}
    assert not unlisted & rig.observed.event_ids()

    components = asyncapi()["components"]
    problems: list[str] = []
    seen: dict[str, set[str]] = {}
    for msg in rig.observed.messages:
        found = channel_of(msg.topic)
        if found is None:
            problems.append(f"{msg.topic}: on no channel of the AsyncAPI")
            continue
        name, params = found
        payload = json.loads(msg.payload)
        if name == "events":
            seen.setdefault(name, set()).add(params["type"])
            if params["type"] not in listed or payload.get("type") != params["type"]:
                problems.append(f"{msg.topic}: type {payload.get('type')!r} is not one the "
                                "events channel lists for this topic")
            problems += [f"{msg.topic}: {p}" for p in
                         validate(components["schemas"]["CloudEvent"], payload)]
            event = {**payload["data"], "id": payload["id"], "type": payload["type"],
                     "time": payload["time"]}
            schema = json.loads((DEFAULT_DIR / "events" / f"{payload['type']}.json")
                                .read_text())
            problems += [f"{msg.topic} (event): {p}" for p in validate(schema, event)]
            if msg.retain:
                problems.append(f"{msg.topic}: retained, the contract says not")
        elif name == "deviceState":
            seen.setdefault(name, set()).add(params["device"])
            problems += [f"{msg.topic}: {p}" for p in
                         validate(components["messages"]["deviceState"]["payload"], payload)]
            if not msg.retain:
                problems.append(f"{msg.topic}: not retained, the contract says retained")
        else:
            problems.append(f"{msg.topic}: Navet published on {name}, which it only reads")
    assert not problems, "\n".join(problems[:20])
    # the run exercised both channels Navet publishes on, with most types (24 of 30 today;
    # the rest come from rules and commands this run does not drive, and the next test
    # stores one of each)
    assert set(seen) == {"events", "deviceState"}
    assert len(seen["events"]) >= 20, sorted(seen["events"])
    # liveness: a unit that sent heartbeats has a retained state that says it is online
    state = rig.broker.retained[f"{PREFIX}/vasteras/devices/scaip:unit1/state"]
    assert json.loads(state.payload)["status"] == "online"


async def test_every_type_the_events_channel_lists_is_published_and_no_other(rig: Rig) -> None:
    skipped = not_published()
    assert "device.heartbeat" in skipped  # heartbeats are not published: say where instead
    assert "deviceState" in skipped["device.heartbeat"]
    # one stored event of every catalogue type, the not-published first, so that if one
    # were published it would come before the others of the same resident (outbox order)
    types = [*skipped, *listed_types()]
    events = [example_event(t).model_copy(update={"id": f"contract-{t}", "tenant": "vasteras"})
              for t in types]
    await rig.gw.emit(events)
    await rig.published({f"contract-{t}": t for t in listed_types()})
    topics = {m.topic for m in rig.observed.messages}
    for t in listed_types():
        assert f"{PREFIX}/vasteras/events/{t}" in topics
    for t in skipped:
        assert f"{PREFIX}/vasteras/events/{t}" not in topics, \
            f"{t} is published, but the contract says it is not"
    assert set(listed_types()) | set(skipped) == {e.type for e in events}
    assert not set(listed_types()) & set(skipped)
