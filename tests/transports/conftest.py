"""Fixtures for transport tests: a real Mosquitto, the embedded brokers, paho clients.

Every client a test makes through ``mqtt_client`` is disconnected at teardown and
every broker is stopped, so no thread or process outlives its test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.core.settings import MqttSettings
from gateway.testing import wait_until  # noqa: F401  (the tests here import it from here)
from gateway.transports.base import MqttMessage
from gateway.transports.broker import EmbeddedBroker
from gateway.transports.mosquitto import MosquittoProcess
from gateway.transports.mqtt import PahoMqttClient
from tests.services import free_port, require_binary

WAIT = 15.0
"""Upper bound in seconds for any single wait on the network in these tests."""

MOSQUITTO_HOW = "apt-get install mosquitto"


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[MosquittoProcess]:
    """A real Mosquitto on a free port, configured exactly as the embedded broker is."""
    binary = require_binary("mosquitto", MOSQUITTO_HOW, "/usr/sbin/mosquitto")
    proc = MosquittoProcess(port=free_port(), data_dir=tmp_path / "mosquitto", binary=binary)
    await proc.start()
    try:
        yield proc
    finally:
        await proc.stop()


@pytest.fixture(params=["mosquitto", "amqtt"])
async def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    """The embedded broker, once per implementation."""
    if request.param == "mosquitto":
        require_binary("mosquitto", MOSQUITTO_HOW, "/usr/sbin/mosquitto")
    broker = EmbeddedBroker(port=0, impl=request.param, data_dir=tmp_path / "broker")
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


ClientFactory = Callable[..., Awaitable[PahoMqttClient]]


@pytest.fixture
async def mqtt_client() -> AsyncIterator[ClientFactory]:
    """``await mqtt_client(port, client_id, **kwargs)``: a connected client, closed at teardown."""
    made: list[PahoMqttClient] = []

    async def make(port: int, client_id: str, *, connect: bool = True,
                   **kwargs: Any) -> PahoMqttClient:
        kwargs.setdefault("reconnect_delay", (0.1, 0.5))
        kwargs.setdefault("publish_timeout", WAIT)
        settings = MqttSettings(mode="external", host="127.0.0.1", port=port)
        client = PahoMqttClient(settings, client_id=client_id, **kwargs)
        made.append(client)
        if connect:
            await client.connect()
        return client

    try:
        yield make
    finally:
        for client in made:
            await client.disconnect()


class Inbox:
    """A handler that records messages and lets a test wait for them with a bound."""

    def __init__(self) -> None:
        self.messages: list[MqttMessage] = []
        self._changed = asyncio.Event()

    async def __call__(self, msg: MqttMessage) -> None:
        self.messages.append(msg)
        self._changed.set()

    @property
    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[MqttMessage]:
        """Wait until at least ``count`` messages arrived; fail after ``timeout`` seconds."""
        if not await self.arrived(count, timeout):
            pytest.fail(f"expected {count} messages within {timeout}s, got "
                        f"{len(self.messages)}: {self.payloads[:10]}")
        return self.messages

    async def arrived(self, count: int, timeout: float) -> bool:
        """True once ``count`` messages arrived, False if ``timeout`` passed first."""

        async def enough() -> None:
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            return False
        return True
