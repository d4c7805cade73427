"""Builds the MQTT client (and the embedded broker) the settings ask for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import MqttClient
from .memory import MemoryBroker
from .settings import MqttSettings

if TYPE_CHECKING:
    from .mosquitto import TlsListener


class _MemoryBrokerHandle:
    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    async def stop(self) -> None:
        return None


async def start_mqtt(
    settings: MqttSettings, *, data_dir: Path | None = None, tls: TlsListener | None = None
) -> tuple[Any, MqttClient]:
    """Return ``(broker or None, connected client)`` for ``settings.mode``.

    ``data_dir`` is where an embedded Mosquitto keeps its persistence file, so
    messages queued for the gateway survive a restart; without it a temporary
    directory is used and removed at stop. ``tls`` is an extra TLS listener of the
    embedded broker for certificate identities (the core builds it from Navet's CA).
    """
    if settings.mode == "memory":
        broker = MemoryBroker()
        memory_client: MqttClient = broker.client(settings.client_id)
        await memory_client.connect()
        return _MemoryBrokerHandle(broker), memory_client
    from .mqtt import PahoMqttClient

    handle: Any = None
    if settings.mode == "embedded":
        from .broker import EmbeddedBroker

        handle = EmbeddedBroker(host=settings.host, port=settings.port, data_dir=data_dir,
                                tls=tls)
        await handle.start()
        settings = settings.model_copy(update={"port": handle.port})
    client = PahoMqttClient(settings, share_group=settings.share_group)
    try:
        await client.connect()
    except BaseException:
        if handle is not None:  # do not leave a broker process behind
            await handle.stop()
        raise
    return handle, client
