"""Builds the MQTT client (and the embedded broker) the settings ask for."""

from __future__ import annotations

from typing import Any

from gateway.core.settings import MqttSettings

from .base import MqttClient
from .memory import MemoryBroker


class _MemoryBrokerHandle:
    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    async def stop(self) -> None:
        return None


async def start_mqtt(settings: MqttSettings) -> tuple[Any, MqttClient]:
    """Return ``(broker or None, connected client)`` for ``settings.mode``."""
    if settings.mode == "memory":
        broker = MemoryBroker()
        client = broker.client(settings.client_id)
        await client.connect()
        return _MemoryBrokerHandle(broker), client
    from .mqtt import PahoMqttClient

    handle: Any = None
    if settings.mode == "embedded":
        from .broker import EmbeddedBroker

        handle = EmbeddedBroker(host=settings.host, port=settings.port)
        await handle.start()
        settings = settings.model_copy(update={"port": handle.port})
    client = PahoMqttClient(settings)
    await client.connect()
    return handle, client
