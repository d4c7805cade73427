"""MQTT over TLS with client certificates: the settings' tls_* files reach the broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.core.settings import MqttSettings
from gateway.errors import TransportError
from gateway.transports.mosquitto import MosquittoProcess, TlsListener
from gateway.transports.mqtt import PahoMqttClient
from tests.services import free_port, require_binary

from .certs import Pki, make_pki
from .conftest import MOSQUITTO_HOW, Inbox


@pytest.fixture
async def tls_broker(tmp_path: Path) -> AsyncIterator[tuple[MosquittoProcess, Pki]]:
    binary = require_binary("mosquitto", MOSQUITTO_HOW, "/usr/sbin/mosquitto")
    pki = make_pki(tmp_path / "pki")
    tls = TlsListener(port=free_port(), cafile=pki.ca, certfile=pki.server_cert,
                      keyfile=pki.server_key)
    proc = MosquittoProcess(port=free_port(), data_dir=tmp_path / "m", binary=binary, tls=tls)
    await proc.start()
    try:
        yield proc, pki
    finally:
        await proc.stop()


async def test_client_certificate_connects_over_tls(
    tls_broker: tuple[MosquittoProcess, Pki],
) -> None:
    proc, pki = tls_broker
    assert proc.tls is not None
    client = PahoMqttClient(MqttSettings(
        port=proc.tls.port, tls_ca=str(pki.ca), tls_cert=str(pki.client_cert),
        tls_key=str(pki.client_key), client_id="tls-gw"))
    await client.connect()
    try:
        inbox = Inbox()
        await client.subscribe("secure/#", inbox)
        await client.publish("secure/ping", b"over tls", qos=1)
        await inbox.wait_for(1)
        assert inbox.payloads == [b"over tls"]
    finally:
        await client.disconnect()


async def test_tls_without_client_certificate_is_refused(
    tls_broker: tuple[MosquittoProcess, Pki],
) -> None:
    proc, pki = tls_broker
    assert proc.tls is not None
    client = PahoMqttClient(MqttSettings(port=proc.tls.port, tls_ca=str(pki.ca),
                                         client_id="no-cert"), connect_timeout=2.0)
    with pytest.raises(TransportError, match=f"127.0.0.1:{proc.tls.port}"):
        await client.connect()
    assert not client.connected
