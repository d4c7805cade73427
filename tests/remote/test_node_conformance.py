"""The conformance kit on the Node.js out-of-process adapter.

The kit drives an adapter's ``decode``; for an out-of-process adapter that is its proxy's
``decode`` of what the process publishes. So the frames are captured here from the real
Node process on a real Mosquitto (its CloudEvents, its hello and its goodbye), and the kit
runs every check on the proxy with them; commands round-trip with the Python stand-in of
the remote side (``gateway.core.remote.simulator:kit_vendor``) on the kit's own broker.
The declaration the example ships (examples/node-lock/conformance.json) holds the same
events the process makes, and passes too.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.core.remote import RemoteAdapters, load_manifest
from gateway.core.settings import MqttSettings
from gateway.transports.base import MqttMessage
from gateway.transports.mosquitto import MosquittoProcess
from gateway.transports.mqtt import PahoMqttClient

from . import node

conformance = pytest.importorskip("gateway.conformance")  # the kit (engineer vendorkit)

pytestmark = [pytest.mark.mosquitto]

DECLARATION = node.EXAMPLE / "conformance.json"
TIMEOUT = 30.0


def _kit(declaration: dict[str, Any]) -> Any:
    cls = RemoteAdapters([load_manifest(node.MANIFEST)]).classes[0]
    parsed = conformance.parse_declaration(declaration, "nyckelbo", node.EXAMPLE)
    return conformance.run_class(cls, parsed, plugin="remote")


def _is_event(msg: MqttMessage) -> bool:
    """On ``events`` or ``events/<key>`` (the example uses its locks' addresses as keys)."""
    return msg.topic.split("/")[4] == "events"


def _assert_passes(report: Any) -> None:
    outcomes = {c.id: (c.outcome, c.message) for c in report.checks}
    failed = {k: v for k, v in outcomes.items() if v[0] == "fail"}
    assert not failed, failed
    assert outcomes["commands"][0] == "pass", outcomes["commands"]
    assert outcomes["heartbeat"][0] == "pass", outcomes["heartbeat"]
    assert outcomes["events-valid"][0] == "pass"


async def test_the_node_adapter_passes_the_kit(
    mosquitto: MosquittoProcess, node_bin: str, tmp_path: Path
) -> None:
    seen: list[MqttMessage] = []

    async def record(msg: MqttMessage) -> None:
        seen.append(msg)

    spy = PahoMqttClient(MqttSettings(port=mosquitto.port, client_id="kit-spy"),
                         persistent=False)
    await spy.connect()
    await spy.subscribe("navet/vasteras/adapters/nyckelbo/#", record, qos=1)
    adapter = node.NodeAdapter(node_bin, tmp_path, "--url", f"mqtt://127.0.0.1:{mosquitto.port}",
                               "--tenant", "vasteras", "--state", str(tmp_path / "state"),
                               "--send", "5")
    adapter.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while sum(_is_event(m) for m in seen) < 5 \
                or not any(m.topic.endswith("/hello") for m in seen):
            assert loop.time() < deadline, adapter.log()
            await asyncio.sleep(0.05)
        adapter.stop()  # SIGTERM: it says goodbye (offline) on hello
        while sum(m.topic.endswith("/hello") for m in seen) < 2:
            assert loop.time() < deadline, adapter.log()
            await asyncio.sleep(0.05)
    finally:
        adapter.stop()
        await spy.disconnect()

    def frame(msg: MqttMessage) -> dict[str, Any]:
        return {"address": msg.topic, "payload": msg.payload.decode(), "transport": "mqtt"}

    events = [m for m in seen if _is_event(m)][:5]
    online, offline = [m for m in seen if m.topic.endswith("/hello")][:2]
    assert json.loads(online.payload)["state"] == "online"
    assert json.loads(offline.payload)["state"] == "offline"
    shipped = json.loads(DECLARATION.read_text())
    section = shipped["adapters"]["nyckelbo"]
    captured = {**section, "frames": [frame(m) for m in events],
                "heartbeat": {"frame": frame(online)}, "silence": frame(offline)}
    # the kit runs its own event loop: off this one
    _assert_passes(await asyncio.to_thread(_kit, {"adapters": {"nyckelbo": captured}}))
    # the example's declaration carries exactly the events the process makes
    assert [json.loads(f["payload"]) for f in section["frames"]] == \
        [json.loads(m.payload) for m in events]
    _assert_passes(await asyncio.to_thread(_kit, shipped))
