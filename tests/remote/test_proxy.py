"""The proxy adapter of an out-of-process adapter, on the in-memory broker and a fake clock.

The Node.js process itself is exercised in test_node_*.py; here a test plays the remote
process, so every rule of the protocol can be driven exactly: what is refused and why,
acks only after the store, liveness from hello, will and heartbeats.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock, PayloadError, RawFrame, make_event, to_cloudevent
from gateway.core.gateway import Gateway
from gateway.core.remote import RemoteAdapters, RemoteTopics, load_manifest
from gateway.core.remote.proxy import Hello
from gateway.core.settings import Settings
from gateway.errors import ConfigError, StoreUnavailableError
from gateway.testing import wait_until
from gateway.transports.base import MqttMessage
from gateway.transports.memory import MemoryBroker, MemoryMqttClient

from . import node

TENANT = "vasteras"
T0 = datetime(2026, 1, 1, 7, 0, tzinfo=UTC)
MANIFEST = json.loads(node.MANIFEST.read_text())


def lock_event(ref: str = "nb-1", **over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tenant": TENANT, "time": T0,
        "source": {"adapter": "nyckelbo", "protocol": "nyckelbo-cloud", "ref": ref},
        "device": {"id": "nyckelbo:L01", "kind": "door_lock"}, "data": {"method": "auto"}}
    fields.update(over)
    return to_cloudevent(make_event("lock.locked", **fields))


def proxy_class() -> type:
    return RemoteAdapters([load_manifest(node.MANIFEST)]).classes[0]


def frame(payload: bytes | dict[str, Any], topic: str = "events") -> RawFrame:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return RawFrame("nyckelbo", TENANT, "mqtt", f"navet/{TENANT}/adapters/nyckelbo/{topic}",
                    body, T0)


# --------------------------------------------------------------------------- decode (pure)


def test_decode_gives_the_event_the_adapter_sent_with_its_id() -> None:
    adapter = proxy_class()({})
    ce = lock_event()
    first, again = adapter.decode(frame(ce)), adapter.decode(frame(ce))
    assert [e.id for e in first] == [ce["id"]] == [e.id for e in again]
    assert first == again
    assert first[0].type == "lock.locked" and first[0].device.id == "nyckelbo:L01"


def test_events_on_a_key_topic_are_events_even_one_named_hello() -> None:
    adapter = proxy_class()({})
    ce = lock_event()
    assert [e.id for e in adapter.decode(frame(ce, "events/L01"))] == [ce["id"]]
    assert [e.id for e in adapter.decode(frame(ce, "events/hello"))] == [ce["id"]]
    with pytest.raises(PayloadError, match="not one of nyckelbo's event topics"):
        adapter.decode(frame(ce, "acks"))


@pytest.mark.parametrize(("payload", "reason"), [
    (b"{not json", "not JSON"),
    (b"[1, 2]", "one CloudEvent (a JSON object), got list"),
    ({**lock_event(), "source": "/navet/vasteras/lasbro"}, "must be '/navet/vasteras/nyckelbo'"),
    ({**lock_event(), "specversion": "0.3"}, "not a CloudEvents 1.0 event"),
    ({**lock_event(source={"adapter": "lasbro", "protocol": "x", "ref": "1"}),
      "source": "/navet/vasteras/nyckelbo"}, "data.source.adapter 'lasbro' must be 'nyckelbo'"),
    (lock_event(tenant="sala"), "must be '/navet/vasteras/nyckelbo'"),
    (lock_event(device={"id": "lasbro:L01", "kind": "door_lock"}), "must start with 'nyckelbo:'"),
    (lock_event(device={"id": "nyckelbo:B1", "kind": "social_alarm"}),
     "device kind social_alarm is not in the manifest"),
    ({**lock_event(), "data": {**lock_event()["data"], "data": {"method": "telepathy"}}},
     "lock.locked"),
    ({**lock_event(), "datacontenttype": "text/plain"}, "is not application/json"),
    ({**lock_event(), "type": None}, "type 'None' is not an event type of contract"),
    ({**lock_event(), "type": "lock.picked"}, "type 'lock.picked' is not an event type"),
])
def test_decode_refuses_what_the_manifest_and_contract_do_not_allow(
    payload: bytes | dict[str, Any], reason: str
) -> None:
    with pytest.raises(PayloadError) as err:
        proxy_class()({}).decode(frame(payload))
    assert reason in str(err.value)
    assert "nyckelbo" in str(err.value)


def test_an_event_for_another_tenant_with_its_own_source_is_refused() -> None:
    ce = lock_event(tenant="sala")
    ce["source"] = "/navet/vasteras/nyckelbo"
    with pytest.raises(PayloadError, match="event for tenant 'sala' on tenant 'vasteras'"):
        proxy_class()({}).decode(frame(ce))


def test_hello_and_will_are_the_process_devices_online_and_offline() -> None:
    adapter = proxy_class()({})
    online = adapter.decode(frame({"state": "online", "session": "s1",
                                   "time": "2026-01-01T07:00:00Z"}, "hello"))
    offline = adapter.decode(frame({"state": "offline", "session": "s1",
                                    "reason": "connection lost"}, "hello"))
    assert [e.type for e in online + offline] == ["device.online", "device.offline"]
    assert {e.device.id for e in online + offline} == {"nyckelbo:adapter-process"}
    assert offline[0].data.reason == "connection lost"  # type: ignore[attr-defined]
    with pytest.raises(PayloadError, match="hello"):
        adapter.decode(frame({"state": "sleeping"}, "hello"))


def test_hello_is_checked_against_the_declared_manifest() -> None:
    adapter = proxy_class()({})

    def check(**over: Any) -> str | None:
        return adapter.check_hello(Hello(state="online", manifest={**MANIFEST, **over}))

    assert check() is None
    assert "'lasbro'" in (check(name="lasbro") or "")
    assert "contract >=2.0,<3" in (check(contract=">=2.0,<3") or "")
    assert "social_alarm" in (check(device_kinds=["door_lock", "social_alarm"]) or "")
    assert "camera.start" in (check(commands=["lock.unlock", "camera.start"]) or "")
    assert "device_kinds" in (check(device_kinds="door") or "")
    assert adapter.check_hello(Hello(state="online")) == "hello has no manifest"


def test_manifests_are_loaded_with_errors_naming_file_and_field(tmp_path: Path) -> None:
    assert load_manifest(node.MANIFEST).name == "nyckelbo"
    assert load_manifest({**MANIFEST, "name": "inline"}).name == "inline"
    with pytest.raises(ConfigError, match=r"missing\.json: cannot read"):
        load_manifest(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ConfigError, match=r"bad\.json is not JSON"):
        load_manifest(bad)
    bad.write_text(json.dumps({**MANIFEST, "contract": "1.x"}))
    with pytest.raises(ConfigError, match=r"bad\.json: manifest field contract"):
        load_manifest(bad)


# --------------------------------------------------------------------------- in a gateway


@dataclass
class Rig:
    gw: Gateway
    clock: FakeClock
    remote: MemoryMqttClient
    acks: list[dict[str, Any]]
    welcome: list[dict[str, Any]]
    topics: RemoteTopics

    def proxy(self) -> Any:
        return self.gw.adapter_instances["nyckelbo-vasteras"]

    async def send(self, topic: str, body: dict[str, Any] | bytes, retain: bool = False) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        await self.remote.publish(topic, data, qos=1, retain=retain)
        await self.settle()

    async def settle(self) -> None:
        for client in (self.gw.mqtt, self.remote):
            await client.drain()  # type: ignore[attr-defined]
        await self.clock.advance(0)

    def process_states(self) -> list[str]:
        return [s.event.type for s in self.gw.store.query_events(TENANT, limit=100)
                if s.event.device and s.event.device.id == "nyckelbo:adapter-process"
                and s.event.type.startswith("device.")]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    broker = MemoryBroker()
    clock = FakeClock(T0)
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                        remote_adapters=[str(node.MANIFEST)],
                        adapters=[{"adapter": "nyckelbo", "tenant": TENANT}])
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    remote = broker.client("nyckelbo")
    await remote.connect()
    topics = RemoteTopics(TENANT, "nyckelbo")
    acks: list[dict[str, Any]] = []
    welcome: list[dict[str, Any]] = []

    async def on_ack(msg: MqttMessage) -> None:
        acks.append(json.loads(msg.payload))

    async def on_welcome(msg: MqttMessage) -> None:
        welcome.append(json.loads(msg.payload))

    await remote.subscribe(topics.acks, on_ack)
    await remote.subscribe(topics.welcome, on_welcome)
    try:
        yield Rig(gw, clock, remote, acks, welcome, topics)
    finally:
        await remote.disconnect()
        await gw.stop()


async def test_the_proxy_is_an_adapter_like_any_other(rig: Rig) -> None:
    assert "nyckelbo" in rig.gw.plugins.adapters
    assert rig.gw.plugins.adapters.owner("nyckelbo") == "remote"
    cls = rig.gw.plugins.adapters.get("nyckelbo")
    assert cls.conformance_file == node.EXAMPLE / "conformance.json"  # type: ignore[attr-defined]
    assert cls.conformance_file.exists()  # type: ignore[attr-defined]
    info = rig.gw.plugins.infos["remote"]
    assert info.module == "gateway.core.remote"
    assert info.adapters[0]["commands"] == ["lock.unlock", "lock.lock"]
    assert rig.proxy().manifest.device_kinds == ("door_lock",)


async def test_each_event_is_acked_once_stored_and_a_resend_is_stored_once(rig: Rig) -> None:
    ce = lock_event()
    await rig.send(f"{rig.topics.events}/L01", ce)  # a device's own key topic
    assert rig.acks == [{"id": ce["id"], "status": "stored"}]
    assert rig.gw.store.get_event(TENANT, ce["id"]) is not None
    await rig.send(rig.topics.events, ce)  # resent after a reconnect
    assert rig.acks[-1] == {"id": ce["id"], "status": "duplicate"}
    assert rig.gw.store.count_events(TENANT)["lock.locked"] == 1


async def test_an_invalid_event_is_acked_refused_and_kept_as_a_dead_letter(rig: Rig) -> None:
    ce = lock_event(device={"id": "nyckelbo:B1", "kind": "social_alarm"})
    await rig.send(rig.topics.events, ce)
    [ack] = rig.acks
    assert ack["id"] == ce["id"] and ack["status"] == "refused"
    assert "device kind social_alarm is not in the manifest" in ack["reason"]
    [letter] = rig.gw.store.dead_letters(TENANT)
    assert ack["frame"] in json.dumps(letter, default=str)
    assert "social_alarm" in json.dumps(letter, default=str)


async def test_no_ack_while_the_store_cannot_write(rig: Rig, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    ce = lock_event()

    async def down(frame: RawFrame) -> Any:
        raise StoreUnavailableError("disk full")

    monkeypatch.setattr(rig.gw.pipeline, "ingest", down)
    await rig.send(rig.topics.events, ce)
    assert rig.acks == []  # the handler raised: neither PUBACK nor ack
    monkeypatch.undo()
    await rig.gw.mqtt.disconnect()  # the broker redelivers what was never acknowledged
    await rig.gw.mqtt.connect()
    await rig.settle()
    assert rig.acks == [{"id": ce["id"], "status": "stored"}]


async def test_liveness_from_hello_will_and_heartbeats(rig: Rig) -> None:
    hello = {"state": "online", "manifest": MANIFEST, "heartbeat_s": 1, "session": "s1",
             "time": "2026-01-01T07:00:00Z"}
    await rig.send(rig.topics.hello, hello, retain=True)
    assert rig.welcome[-1]["accepted"] is True and rig.welcome[-1]["session"] == "s1"
    assert rig.proxy().state == "online"
    for _ in range(5):  # heartbeats keep it up
        await rig.clock.advance(1)
        await rig.send(rig.topics.heartbeat, {"time": "x", "unacked": 2})
    assert rig.process_states() == ["device.online"]
    assert rig.proxy().health()["unacked"] == 2
    await rig.clock.advance(10)  # a hung process: no heartbeat for three intervals
    await wait_until(lambda: rig.proxy().state == "offline", "the watchdog to notice")
    assert rig.process_states() == ["device.online", "device.offline"]
    await rig.send(rig.topics.heartbeat, {"time": "y", "unacked": 0})  # heard again
    assert rig.proxy().state == "online"
    await rig.send(rig.topics.hello, {"state": "offline", "session": "s1",
                                      "reason": "connection lost"}, retain=True)  # its will
    assert rig.process_states()[-1] == "device.offline"
    assert rig.proxy().health()["link"] == "down"


async def test_a_refused_hello_is_answered_with_the_reason(rig: Rig) -> None:
    await rig.send(rig.topics.hello, {"state": "online", "session": "s2",
                                      "manifest": {**MANIFEST, "contract": ">=2.0,<3"}})
    [welcome] = rig.welcome
    assert welcome["accepted"] is False
    assert "supports contract >=2.0,<3 but this gateway runs contract" in welcome["reason"]
    assert rig.proxy().state == "unknown" and rig.process_states() == []
