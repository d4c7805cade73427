"""Builds the MQTT client (and the embedded broker) the settings ask for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .base import MqttClient
from .memory import MemoryBroker
from .settings import MqttSettings


class _MemoryBrokerHandle:
    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    async def stop(self) -> None:
        return None


def device_tls_listener(settings: MqttSettings, pki_dir: Path) -> Any:
    """The embedded Mosquitto's TLS listener for certificate identities (mqtt.device_tls_port).

    Its server certificate is issued by Navet's CA (``<pki_dir>``) on first use for the
    listener's address, ``localhost`` and ``127.0.0.1``; the ACL and CRL are the CA's.
    """
    from gateway.core.security.ca import NavetCA

    from .mosquitto import TlsListener

    assert settings.device_tls_port is not None
    host = settings.device_tls_host or settings.host
    ca = NavetCA(pki_dir)
    ca.ensure()
    cert, key = pki_dir / "mqtt-broker.pem", pki_dir / "mqtt-broker.key"
    if not cert.exists() or not key.exists():
        names = sorted({host, "localhost", "127.0.0.1"} - {"0.0.0.0", "::"})
        issued = ca.server_certificate(names)
        cert.write_bytes(issued.cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(issued.key_pem)
    acl = ca.acl_path if ca.acl_path.exists() else ca.write_acl()
    return TlsListener(port=settings.device_tls_port, host=host, cafile=ca.ca_cert_path,
                       certfile=cert, keyfile=key, crlfile=ca.crl_path, acl_file=acl)


async def start_mqtt(
    settings: MqttSettings, *, data_dir: Path | None = None, pki_dir: Path | None = None
) -> tuple[Any, MqttClient]:
    """Return ``(broker or None, connected client)`` for ``settings.mode``.

    ``data_dir`` is where an embedded Mosquitto keeps its persistence file, so
    messages queued for the gateway survive a restart; without it a temporary
    directory is used and removed at stop.
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

        tls = device_tls_listener(settings, pki_dir) \
            if settings.device_tls_port and pki_dir is not None else None
        handle = EmbeddedBroker(host=settings.host, port=settings.port, data_dir=data_dir,
                                tls=tls)
        await handle.start()
        settings = settings.model_copy(update={"port": handle.port})
    client = PahoMqttClient(settings)
    try:
        await client.connect()
    except BaseException:
        if handle is not None:  # do not leave a broker process behind
            await handle.stop()
        raise
    return handle, client
