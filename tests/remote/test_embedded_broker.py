"""Out-of-process adapters on the embedded broker, as on an external Mosquitto.

* Embedded Mosquitto with ``mqtt.device_tls_port``: a second listener requires client
  certificates from Navet's CA and holds each identity to its topics with the CA's ACL,
  while the gateway uses the plain loopback listener. The Node adapter connects with its
  certificate; another tenant's topics are refused to it.
* Embedded amqtt (the pure-Python broker): the protocol works the same without TLS, and
  asking it for the device TLS listener fails at start, naming why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import make_event, to_cloudevent
from gateway.core.gateway import Gateway
from gateway.core.remote import RemoteTopics
from gateway.core.security.ca import NavetCA
from gateway.core.settings import MqttSettings, Settings
from gateway.errors import TransportError
from gateway.transports.broker import EmbeddedBroker
from gateway.transports.mosquitto import TlsListener
from gateway.transports.mqtt import PahoMqttClient
from tests.services import free_port, require_binary

from . import node

TENANTS = ("vasteras", "sala")
TIMEOUT = 30.0


def _settings(data: Path, mqtt: dict[str, object]) -> Settings:
    return Settings(data_dir=data, mqtt=mqtt, remote_adapters=[str(node.MANIFEST)],
                    adapters=[{"adapter": "nyckelbo", "tenant": t} for t in TENANTS])


async def _run(adapter: node.NodeAdapter) -> None:
    adapter.start()
    try:
        code = await asyncio.to_thread(adapter.wait, TIMEOUT)
    finally:
        adapter.stop()
    assert code == 0, adapter.log()


def _lock_ids(gw: Gateway, tenant: str) -> set[str]:
    return {s.event.id for s in gw.store.query_events(tenant, types=["lock."], limit=100)}


@pytest.fixture
async def tls_gateway(tmp_path: Path) -> AsyncIterator[tuple[Gateway, NavetCA, int]]:
    require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    data = tmp_path / "data"
    ca = NavetCA(data / "pki")
    for tenant in TENANTS:  # enrolled before the start: the broker reads the ACL then
        own = RemoteTopics(tenant, "nyckelbo")
        issued = ca.enroll(f"nyckelbo-{tenant}", tenant=tenant, topics=own.adapter_writes(),
                           read_topics=own.adapter_reads())
        (tmp_path / f"nyckelbo-{tenant}.pem").write_bytes(issued.cert_pem)
        (tmp_path / f"nyckelbo-{tenant}.key").write_bytes(issued.key_pem)
    tls_port = free_port()
    gw = Gateway(_settings(data, {"mode": "embedded", "port": 0, "client_id": "navet-emb",
                                  "device_tls_port": tls_port}))
    await gw.start()
    try:
        assert gw.broker.impl == "mosquitto"
        yield gw, ca, tls_port
    finally:
        await gw.stop()


async def test_embedded_mosquitto_serves_adapters_with_certificates_and_the_acl(
    tls_gateway: tuple[Gateway, NavetCA, int], node_bin: str, tmp_path: Path
) -> None:
    gw, ca, tls_port = tls_gateway
    adapter = node.NodeAdapter(node_bin, tmp_path, "--url", f"mqtts://127.0.0.1:{tls_port}",
                               "--ca", str(ca.ca_cert_path),
                               "--cert", str(tmp_path / "nyckelbo-vasteras.pem"),
                               "--key", str(tmp_path / "nyckelbo-vasteras.key"),
                               "--tenant", "vasteras", "--state", str(tmp_path / "state"),
                               "--send", "10", "--exit-when-acked")
    await _run(adapter)
    assert _lock_ids(gw, "vasteras") == {node.expected_id("vasteras", i) for i in range(10)}

    def client(identity: str) -> PahoMqttClient:
        return PahoMqttClient(MqttSettings(port=tls_port, tls_ca=str(ca.ca_cert_path),
                                           tls_cert=str(tmp_path / f"{identity}.pem"),
                                           tls_key=str(tmp_path / f"{identity}.key"),
                                           client_id=identity),
                              persistent=False, connect_timeout=3.0, reconnect_delay=(0.2, 0.5))

    def event(ref: str) -> bytes:
        ev = make_event("lock.locked", tenant="sala", time=datetime(2026, 1, 1, tzinfo=UTC),
                        source={"adapter": "nyckelbo", "protocol": "test", "ref": ref},
                        device={"id": "nyckelbo:S01", "kind": "door_lock"},  # Sala's door
                        data={"method": "auto"})
        return json.dumps(to_cloudevent(ev)).encode()

    forger = client("nyckelbo-vasteras")
    await forger.connect()
    with contextlib.suppress(TransportError):  # dropped by the ACL, and disconnected
        await forger.publish("navet/sala/adapters/nyckelbo/events", event("forged"), qos=1)
    await forger.disconnect()
    sala = client("nyckelbo-sala")
    await sala.connect()
    await sala.publish("navet/sala/adapters/nyckelbo/events", event("own"), qos=1)
    await sala.disconnect()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not _lock_ids(gw, "sala"):
        assert loop.time() < deadline, "sala's own event never arrived"
        await asyncio.sleep(0.05)
    refs = [s.event.source.ref for s in gw.store.query_events("sala", types=["lock."])]
    assert refs == ["own"]


async def test_the_protocol_on_the_embedded_amqtt_broker(node_bin: str, tmp_path: Path) -> None:
    broker = EmbeddedBroker(port=0, impl="amqtt", data_dir=tmp_path / "broker")
    await broker.start()
    gw = Gateway(_settings(tmp_path / "data", {"mode": "external", "host": "127.0.0.1",
                                               "port": broker.port, "client_id": "navet-amqtt"}))
    await gw.start()
    try:
        adapter = node.NodeAdapter(node_bin, tmp_path, "--url",
                                   f"mqtt://127.0.0.1:{broker.port}", "--tenant", "vasteras",
                                   "--state", str(tmp_path / "state"), "--send", "10",
                                   "--exit-when-acked")
        await _run(adapter)
        assert _lock_ids(gw, "vasteras") == {node.expected_id("vasteras", i)
                                             for i in range(10)}
        assert gw.adapter_instances["nyckelbo-vasteras"].hello is not None
    finally:
        await gw.stop()
        await broker.stop()


async def test_amqtt_refuses_the_device_tls_listener(tmp_path: Path) -> None:
    tls = TlsListener(port=free_port(), cafile=tmp_path / "ca.pem",
                      certfile=tmp_path / "s.pem", keyfile=tmp_path / "s.key")
    broker = EmbeddedBroker(port=0, impl="amqtt", tls=tls)
    with pytest.raises(TransportError, match="needs Mosquitto"):
        await broker.start()
