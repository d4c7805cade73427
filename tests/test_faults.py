"""Faults injected into a running gateway: what devices and operators see.

The database becomes unwritable (SQLite ``query_only``, exactly what a
read-only or full disk looks like to the store; on PostgreSQL a read-only
transaction default): a SCAIP unit's alarm is not
acknowledged (SIP 500), so the unit keeps it and sends again; operators are
told on MQTT (a retained system alert), by ``/readyz`` and by a technical alarm
in every tenant's stream once the store is back; the resent alarm is stored
once, and nothing accepted before the fault is lost.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from gateway.transports.base import MqttMessage
from gateway.transports.memory import MemoryBroker
from simulators.scaip import ScaipUnit
from tests.postgres import PgServer, set_writable, start_server
from tests.services import free_port


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        adapters=[{"adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0, "units": {"unit7": {"password": "s3cret"}},
            "hold": False}}],
    )


async def test_unwritable_store_leaves_devices_unacknowledged_and_tells_operators(
    gateway: Gateway, clock: FakeClock, broker: MemoryBroker,
) -> None:
    await _store_outage(gateway, clock, broker, lambda: set_writable(gateway.store, False),
                        lambda: set_writable(gateway.store, True))


async def test_a_database_restart_is_survived_like_any_store_outage(
    settings: Settings, clock: FakeClock, broker: MemoryBroker, pg_server: PgServer,
) -> None:
    """PostgreSQL goes down and comes back: the writer and the readers reconnect."""
    server = start_server(free_port())  # of its own: this test stops it
    gw = Gateway(settings.model_copy(update={"database": server.fresh_url()}), clock=clock,
                 mqtt=broker.client("navet"))
    await gw.start()
    try:
        await _store_outage(gw, clock, broker, lambda: server.stop("fast"), server.start)
    finally:
        await gw.stop()
        server.destroy()


async def _store_outage(gateway: Gateway, clock: FakeClock, broker: MemoryBroker,
                        fail: Callable[[], None], heal: Callable[[], None]) -> None:
    alerts: list[dict[str, object]] = []
    watcher = broker.client("alarm-centre-dashboard")
    await watcher.connect()

    async def keep(msg: MqttMessage) -> None:
        alerts.append(json.loads(msg.payload))

    await watcher.subscribe("navet/system/alerts/#", keep)
    port = gateway.adapter_instances["scaip-vasteras"].ports["udp"]
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", port), clock=clock, timeout_s=3)
    await unit.start()
    try:
        assert await unit.register() == 200
        before = await unit.alarm("personal_button")  # accepted before the fault
        assert before.snu == 0
        stored_before = gateway.store.count_events("vasteras")

        fail()
        with pytest.raises(RuntimeError, match="SIP 500"):
            await unit.alarm("fall")  # not acknowledged: the unit still has its alarm
        assert not gateway.store.healthy
        await clock.advance(1)  # the watcher's next look
        await wait_until(lambda: alerts and alerts[-1]["state"] == "active")
        assert "cannot store" in str(alerts[-1]["text"])
        assert gateway.alerts.active.keys() == {"store"}

        heal()
        resent = await unit.alarm("fall")  # the unit sends its alarm again: now it is stored
        assert resent.snu == 0
        await clock.advance(1)
        await wait_until(lambda: alerts[-1]["state"] == "cleared")
        await wait_until(lambda: "alarm.raised" in gateway.store.count_events("vasteras") and any(
            str(s.event.data.kind) == "technical.other"  # type: ignore[union-attr]
            for s in gateway.store.query_events("vasteras") if s.event.type == "alarm.raised"))
    finally:
        await unit.stop()
        await watcher.disconnect()

    after = gateway.store.count_events("vasteras")
    raised = [s.event for s in gateway.store.query_events("vasteras")
              if s.event.type == "alarm.raised"]
    kinds = sorted(str(e.data.kind) for e in raised)
    # the alarm from before the fault, the resent fall alarm (once), and Navet's own
    # technical alarm about the gap
    assert kinds == ["fall", "personal_button", "technical.other"]
    gap = next(e for e in raised if str(e.data.kind) == "technical.other")
    assert "could not store incoming events" in (gap.data.text or "")
    for etype, n in stored_before.items():
        assert after.get(etype, 0) >= n  # nothing accepted before the fault went missing


@pytest.mark.slow
async def test_broker_restart_under_load_is_reported_and_caught_up(tmp_path: Path) -> None:
    """Mosquitto restarts while a bridge streams frames: readiness says MQTT is down, the
    gateway reconnects by itself, and every frame's events end up stored exactly once."""
    from gateway.api.routes.health import readiness
    from gateway.core.settings import MqttSettings
    from gateway.errors import TransportError
    from gateway.transports.mosquitto import MosquittoProcess
    from gateway.transports.mqtt import PahoMqttClient
    from tests.services import free_port, require_binary

    binary = require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    broker = MosquittoProcess(port=free_port(), data_dir=tmp_path / "mosquitto", binary=binary)
    await broker.start()
    settings = Settings(
        data_dir=tmp_path / "navet",
        mqtt={"mode": "external", "port": broker.port, "client_id": "navet-restart"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
    )
    gw = Gateway(settings)
    await gw.start()
    bridge = PahoMqttClient(MqttSettings(mode="external", port=broker.port),
                            client_id="restart-bridge", persistent=False,
                            reconnect_delay=(0.1, 0.5), publish_timeout=2.0)
    await bridge.connect()
    frames = 200
    seen_down = False
    try:
        for i in range(frames):
            if i == frames // 2:
                await broker.stop()
                await wait_until(lambda: readiness(gw)["mqtt"] != "ok", timeout=15)
                seen_down = True
                await broker.start()
            payload = json.dumps({"occupancy": i % 2 == 0,
                                  "last_seen": 1767225600000 + i * 1000}).encode()
            for _ in range(100):  # a device retries until its broker takes the message
                try:
                    await bridge.publish(f"zigbee2mqtt/restart_{i % 5}", payload, qos=1)
                    break
                except TransportError:
                    await asyncio.sleep(0.1)
            else:
                pytest.fail(f"frame {i} could not be published after the restart")
        await wait_until(lambda: gw.store.count_events("vasteras").get("sensor.reported", 0)
                         >= frames, timeout=30)
        await wait_until(lambda: readiness(gw)["mqtt"] == "ok", timeout=15)
    finally:
        await bridge.disconnect()
        await gw.stop()
        await broker.stop()
    assert seen_down
    counts = gw.store.count_events("vasteras")
    assert counts["sensor.reported"] == frames  # exactly once each
