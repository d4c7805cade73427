"""Crash safety: ``navet serve`` killed by SIGKILL mid-stream loses nothing, stores nothing twice.

A real Mosquitto (started here, so it outlives the gateway) sits between a
simulated Zigbee2MQTT bridge and ``navet serve`` (a subprocess). The bridge
publishes frames at QoS 1 while the gateway stores them; we SIGKILL the gateway
halfway, restart it with the same config and check, by reading its SQLite file:

* every event the gateway had stored before the kill is still there;
* after the restart every published frame's events are stored exactly once,
  under the ids the adapter's own decode gives those frames (so nothing was
  stored under a different id on redelivery);
* a northbound MQTT subscriber and a webhook consumer each received every
  fanned-out event id at least once, with the ids the store holds.

A broker PUBACK to the bridge only means Mosquitto has the frame; the gateway's
durability comes from acking Mosquitto only after the SQLite commit, on a
persistent session, so what it had not stored yet is delivered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from gateway import RawFrame
from gateway.core.plugins import build_plugin_manager
from gateway.core.settings import MqttSettings
from gateway.testing import wait_until
from gateway.transports.base import MqttMessage
from tests.postgres import query_database
from tests.services import free_port, require_binary

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

FRAMES = 300
DEVICES = 10
BASE = "zigbee2mqtt"
TENANT = "vasteras"
NOT_FANNED_OUT = {"device.heartbeat"}
START_TIMEOUT = 30.0
STORE_TIMEOUT = 60.0


def _frames() -> list[tuple[str, bytes]]:
    """Deterministic Zigbee2MQTT frames, each with its own ``last_seen``."""
    t0 = datetime(2026, 1, 1, 21, 0, tzinfo=UTC)
    out = []
    for i in range(FRAMES):
        name = f"crash_{i % DEVICES:02d}_bed"
        seen = (t0 + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
        body = {"occupancy": i % 2 == 0, "battery": 100 - i // DEVICES,
                "linkquality": 100, "last_seen": seen}
        out.append((f"{BASE}/{name}", json.dumps(body).encode()))
    return out


def _expected_ids(frames: list[tuple[str, bytes]]) -> tuple[set[str], set[str]]:
    """(all event ids, fanned-out event ids), computed with the adapter's own decode."""
    adapter = build_plugin_manager().adapters.get("zigbee2mqtt")({})  # type: ignore[call-arg]
    ids: set[str] = set()
    fanned: set[str] = set()
    now = datetime.now(UTC)
    for topic, payload in frames:
        frame = RawFrame("zigbee2mqtt", TENANT, "mqtt", topic, payload, now,
                         meta={"base_topic": BASE})
        for ev in adapter.decode(frame):
            ids.add(ev.id)
            if ev.type not in NOT_FANNED_OUT:
                fanned.add(ev.id)
    return ids, fanned


def _stored(db: str) -> list[str]:
    """Event ids in the gateway's store (read-only; works while it runs or is dead)."""
    return [r[0] for r in query_database(db, "SELECT id FROM events WHERE tenant = ?",
                                         (TENANT,))]


def _dead_letters(db: str) -> int:
    return int(query_database(db, "SELECT count(*) FROM dead_letters")[0][0])


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[object]:
    require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    from gateway.transports.mosquitto import MosquittoProcess

    broker = MosquittoProcess("127.0.0.1", free_port(), data_dir=tmp_path / "mosquitto")
    (tmp_path / "mosquitto").mkdir()
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


class Gatewayprocess:
    """``navet serve --config`` as a subprocess, with its output kept in files."""

    def __init__(self, config: Path, http_port: int, logs: Path) -> None:
        self.config = config
        self.http_port = http_port
        self.logs = logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    async def start(self) -> None:
        self.runs += 1
        out = open(self.logs / f"navet-{self.runs}.log", "wb")  # noqa: SIM115  # closed in kill
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
            stdout=out, stderr=subprocess.STDOUT,
        )
        self._out = out
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        async with httpx.AsyncClient() as http:
            while True:
                assert self.proc.poll() is None, f"navet serve exited:\n{self.log_tail()}"
                assert loop.time() < deadline, f"navet serve not ready:\n{self.log_tail()}"
                try:
                    r = await http.get(f"http://127.0.0.1:{self.http_port}/readyz", timeout=2)
                    if r.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def log_tail(self) -> str:
        path = self.logs / f"navet-{self.runs}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def sigkill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._out.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None:
            self._out.close()


async def _until(check: object, timeout: float, what: str, tail: object = lambda: "") -> None:
    """:func:`wait_until`, failing with the tail of the gateway's log (another process)."""
    try:
        await wait_until(check, what, timeout=timeout, interval=0.05)  # type: ignore[arg-type]
    except AssertionError as err:
        raise AssertionError(f"{err}\n{tail()}") from None  # type: ignore[operator]


async def test_sigkill_mid_stream_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, mosquitto: object
) -> None:
    from gateway.transports.mqtt import PahoMqttClient

    port = mosquitto.port  # type: ignore[attr-defined]
    http_port = free_port()
    hook_port = free_port()
    hooked: list[str] = []

    async def webhook_consumer(scope: dict[str, object], receive: object, send: object) -> None:
        body = b""
        while True:
            msg = await receive()  # type: ignore[operator]
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        hooked.append(json.loads(body)["id"])
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    import uvicorn

    hook_server = uvicorn.Server(uvicorn.Config(webhook_consumer, host="127.0.0.1",
                                                port=hook_port, lifespan="off",
                                                log_level="warning"))
    hook_server.install_signal_handlers = lambda: None  # type: ignore[attr-defined,method-assign]
    hook_task = asyncio.create_task(hook_server.serve())
    db = os.environ.get("NAVET_DATABASE") or str(tmp_path / "data" / "navet.db")
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "environment": "development",
        "data_dir": str(tmp_path / "data"),
        "log_format": "json",
        "mqtt": {"mode": "external", "host": "127.0.0.1", "port": port,
                 "client_id": "navet-crash-test"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "outbound": {"allow_loopback": True},  # the webhook consumer runs on this machine
        "adapters": [{"adapter": "zigbee2mqtt", "tenant": TENANT,
                      "settings": {"base_topic": BASE}}],
        "subscriptions": [
            {"id": "northbound", "tenant": TENANT, "sink": "mqtt"},
            {"id": "webhook", "tenant": TENANT, "sink": "webhook",
             "settings": {"url": f"http://127.0.0.1:{hook_port}/events",
                          "secret": "crash-test-webhook-secret-0123456789"}},
        ],
    }))
    frames = _frames()
    expected, fanned = _expected_ids(frames)
    assert len(expected) == 3 * FRAMES  # sensor.reported, device.battery, device.heartbeat

    def client(cid: str, persistent: bool) -> PahoMqttClient:
        return PahoMqttClient(MqttSettings(mode="external", host="127.0.0.1", port=port,
                                           client_id=cid), persistent=persistent)

    received: list[str] = []

    async def northbound(msg: MqttMessage) -> None:
        received.append(json.loads(msg.payload)["id"])

    consumer = client("crash-consumer", True)
    bridge = client("crash-bridge", False)
    gw = Gatewayprocess(config, http_port, tmp_path)
    publisher: asyncio.Task[None] | None = None
    try:
        await consumer.connect()
        await consumer.subscribe(f"navet/{TENANT}/events/#", northbound, qos=1)
        await bridge.connect()
        await gw.start()

        async def publish_all() -> None:
            for i, (topic, payload) in enumerate(frames):
                await bridge.publish(topic, payload, qos=1)
                if i % 10 == 9:
                    await asyncio.sleep(0.01)  # a steady stream, not one burst

        publisher = asyncio.create_task(publish_all())
        # Kill once the gateway has stored some but not all of it.
        await _until(lambda: len(_stored(db)) >= FRAMES, STORE_TIMEOUT,
                     "the gateway to store a third of the events", gw.log_tail)
        reported_before_kill = set(_stored(db))
        gw.sigkill()
        after_kill = _stored(db)
        assert set(after_kill) >= reported_before_kill, "committed events were lost"
        assert len(after_kill) < len(expected), "the kill came too late to test anything"

        await asyncio.wait_for(publisher, STORE_TIMEOUT)  # the broker holds them meanwhile
        await gw.start()
        await _until(lambda: set(_stored(db)) >= expected, STORE_TIMEOUT,
                     "every frame's events after the restart",
                     lambda: f"{len(after_kill)} stored at the kill, {len(_stored(db))} now, "
                             f"{len(expected)} expected\n{gw.log_tail()}")
        final = _stored(db)
        assert len(final) == len(set(final)) == len(expected), "an event was stored twice"
        assert set(final) == expected
        assert _dead_letters(db) == 0

        await _until(lambda: set(received) >= fanned, STORE_TIMEOUT,
                     "the northbound subscriber to receive every event", gw.log_tail)
        assert set(received) <= expected
        await _until(lambda: set(hooked) >= fanned, STORE_TIMEOUT,
                     "the webhook consumer to receive every event", gw.log_tail)
        assert set(hooked) <= expected
    finally:
        if publisher is not None and not publisher.done():
            publisher.cancel()
        gw.stop()
        hook_server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(hook_task, 10)
        for c in (bridge, consumer):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.disconnect(), 10)
