"""The remote side of the protocol in Python: a stand-in adapter process for tests and the kit.

:class:`RemoteProcess` says hello with a manifest, answers commands and publishes events
on any :class:`gateway.MqttClient`, exactly as an out-of-process adapter must (the Node.js
example in ``examples/node-lock`` is the real one). :func:`kit_vendor` is the vendor
simulator the conformance kit enters (``conformance.json``: ``commands.vendor``) so that
an out-of-process adapter's commands round-trip on the kit's own broker.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from gateway import Manifest, MqttClient, MqttMessage

from .topics import RemoteTopics

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def accept_all(command: dict[str, Any]) -> dict[str, Any]:
    return {"accepted": True, "vendor_ref": f"sim-{command.get('id')}"}


class RemoteProcess:
    """One out-of-process adapter for one tenant, played in Python."""

    def __init__(self, mqtt: MqttClient, tenant: str, manifest: Manifest, *,
                 prefix: str = "navet", answer: Answer = accept_all,
                 session: str = "simulated", heartbeat_s: float = 10.0) -> None:
        self.mqtt = mqtt
        self.manifest = manifest
        self.topics = RemoteTopics(tenant, manifest.name, prefix)
        self.answer = answer
        self.session = session
        self.heartbeat_s = heartbeat_s
        self.commands: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []

    async def start(self) -> None:
        if not self.mqtt.connected:
            await self.mqtt.connect()
        await self.mqtt.subscribe(self.topics.commands, self._on_command, qos=1)
        await self.mqtt.subscribe(self.topics.acks, self._on_ack, qos=1)
        await self.hello("online")

    async def hello(self, state: str) -> None:
        body: dict[str, Any] = {"state": state, "session": self.session}
        if state == "online":
            body |= {"manifest": self.manifest.model_dump(mode="json"),
                     "heartbeat_s": self.heartbeat_s}
        await self.mqtt.publish(self.topics.hello, json.dumps(body), qos=1, retain=True)

    async def send(self, cloud_event: dict[str, Any]) -> None:
        await self.mqtt.publish(self.topics.events, json.dumps(cloud_event), qos=1)

    async def _on_ack(self, msg: MqttMessage) -> None:
        self.acks.append(json.loads(msg.payload))

    async def _on_command(self, msg: MqttMessage) -> None:
        command = json.loads(msg.payload)
        self.commands.append(command)
        result = {"id": command["id"], **self.answer(command)}
        await self.mqtt.publish(self.topics.results, json.dumps(result), qos=1)

    async def stop(self) -> None:
        await self.hello("offline")


@contextlib.asynccontextmanager
async def kit_vendor(host: Any) -> AsyncIterator[RemoteProcess]:
    """The conformance kit's vendor for an out-of-process adapter: a :class:`RemoteProcess`
    on the kit's broker (its own client) that accepts every command."""
    broker = getattr(host, "broker", None)
    client = broker.client("remote-adapter") if broker is not None else host.mqtt()
    manifest = host.subject.cls.manifest
    process = RemoteProcess(client, host.tenant, manifest)
    await process.start()
    try:
        yield process
    finally:
        await client.disconnect()
