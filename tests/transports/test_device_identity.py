"""Device identity on a real Mosquitto: Navet's CA, client certificates, per-identity topics.

A bridge enrolled for Västerås' topics cannot publish for Sala's devices; a
revoked certificate no longer connects; re-enrolling rotates a certificate
without cutting off the old one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.core.security.ca import GATEWAY_IDENTITY, IssuedCert, NavetCA
from gateway.core.settings import MqttSettings
from gateway.errors import ConfigError, TransportError
from gateway.transports.mosquitto import MosquittoProcess, TlsListener
from gateway.transports.mqtt import PahoMqttClient
from tests.services import free_port, require_binary

from .conftest import MOSQUITTO_HOW, Inbox


@dataclass
class Site:
    ca: NavetCA
    broker: MosquittoProcess
    files: Path

    def save(self, issued: IssuedCert, name: str | None = None) -> tuple[Path, Path]:
        name = name or f"{issued.identity}-{issued.serial[:8]}"
        cert, key = self.files / f"{name}.pem", self.files / f"{name}.key"
        cert.write_bytes(issued.cert_pem)
        key.write_bytes(issued.key_pem)
        return cert, key

    def client(self, cert: Path, key: Path, client_id: str) -> PahoMqttClient:
        assert self.broker.tls is not None
        return PahoMqttClient(MqttSettings(port=self.broker.tls.port,
                                           tls_ca=str(self.ca.ca_cert_path), tls_cert=str(cert),
                                           tls_key=str(key), client_id=client_id),
                              persistent=False, connect_timeout=3.0,
                              reconnect_delay=(0.2, 0.5))


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    binary = require_binary("mosquitto", MOSQUITTO_HOW, "/usr/sbin/mosquitto")
    ca = NavetCA(tmp_path / "pki")
    files = tmp_path / "certs"
    files.mkdir()
    server = ca.server_certificate(["127.0.0.1", "localhost"])
    (files / "server.pem").write_bytes(server.cert_pem)
    (files / "server.key").write_bytes(server.key_pem)
    ca.enroll(GATEWAY_IDENTITY, tenant="navet", topics=[])  # writes the ACL with the gateway
    tls = TlsListener(port=free_port(), cafile=ca.ca_cert_path, certfile=files / "server.pem",
                      keyfile=files / "server.key", crlfile=ca.crl_path)
    broker = MosquittoProcess(port=free_port(), data_dir=tmp_path / "broker", binary=binary,
                              tls=tls, allow_anonymous=False, acl_file=ca.acl_path)
    await broker.start()
    try:
        yield Site(ca, broker, files)
    finally:
        await broker.stop()


async def _gateway(site: Site) -> tuple[PahoMqttClient, Inbox]:
    cert, key = site.save(site.ca.enroll(GATEWAY_IDENTITY, tenant="navet", topics=[]), "gw")
    gw = site.client(cert, key, "navet-gateway")
    await gw.connect()
    inbox = Inbox()
    await gw.subscribe("zigbee2mqtt/#", inbox, qos=1)
    return gw, inbox


async def test_a_bridge_publishes_only_for_its_own_devices(site: Site) -> None:
    vasteras = site.save(site.ca.enroll("z2m-vasteras", tenant="vasteras",
                                        topics=["zigbee2mqtt/vasteras/#"]))
    site.ca.enroll("z2m-sala", tenant="sala", topics=["zigbee2mqtt/sala/#"])
    await site.broker.restart()  # the broker reads the ACL at start
    gw, inbox = await _gateway(site)
    bridge = site.client(*vasteras, "z2m-vasteras")
    await bridge.connect()
    try:
        await bridge.publish("zigbee2mqtt/vasteras/r1001_door", b'{"contact": false}', qos=1)
        await inbox.wait_for(1)
        # Mosquitto drops a publish the ACL denies and disconnects the publisher
        with contextlib.suppress(TransportError):
            await bridge.publish("zigbee2mqtt/sala/r2001_door", b'{"contact": false}', qos=1)
        # a marker on the bridge's own topic, sent after the forbidden one, arrives;
        # the forbidden one never does
        marker = site.client(*vasteras, "z2m-vasteras-2")
        await marker.connect()
        await marker.publish("zigbee2mqtt/vasteras/r1001_bed", b'{"occupancy": true}', qos=1)
        await marker.disconnect()
        await inbox.wait_for(2)
        assert [m.topic for m in inbox.messages] == [
            "zigbee2mqtt/vasteras/r1001_door", "zigbee2mqtt/vasteras/r1001_bed"]
    finally:
        await bridge.disconnect()
        await gw.disconnect()


async def test_revoked_certificate_is_refused_and_rotation_keeps_the_old_one(
    site: Site,
) -> None:
    first = site.save(site.ca.enroll("lock-bridge", tenant="vasteras",
                                     topics=["locks/vasteras/#"]))
    second = site.save(site.ca.enroll("lock-bridge", tenant="vasteras",
                                      topics=["locks/vasteras/#"]))  # rotation
    other = site.save(site.ca.enroll("old-bridge", tenant="vasteras", topics=["old/#"]))
    site.ca.revoke("old-bridge")
    await site.broker.restart()  # the broker reads the CRL and ACL at start
    for cert, name in ((first, "rot-1"), (second, "rot-2")):
        client = site.client(*cert, name)
        await client.connect()  # both the old and the new certificate work
        await client.disconnect()
    revoked = site.client(*other, "revoked")
    with pytest.raises(TransportError):
        await revoked.connect()
    await revoked.disconnect()


def test_enrollment_refuses_what_would_open_everything(tmp_path: Path) -> None:
    ca = NavetCA(tmp_path / "pki")
    with pytest.raises(ConfigError, match="every topic"):
        ca.enroll("greedy", tenant="vasteras", topics=["#"])
    with pytest.raises(ConfigError, match="not a valid MQTT filter"):
        ca.enroll("odd", tenant="vasteras", topics=["a/#/b"])
    ca.enroll("bridge", tenant="vasteras", topics=["z/vasteras/#"])
    with pytest.raises(ConfigError, match="tenant vasteras"):
        ca.enroll("bridge", tenant="sala", topics=["z/sala/#"])
    assert oct(ca.ca_key_path.stat().st_mode & 0o777) == "0o600"


async def test_a_tenants_consumer_reads_only_its_own_northbound_events(site: Site) -> None:
    """MQTT northbound: an alarm centre's identity for Västerås, even subscribed to
    everything, receives Västerås' events and none of Sala's."""
    vasteras = site.save(site.ca.enroll("arc-vasteras", tenant="vasteras",
                                        topics=["arc/vasteras/acks"],
                                        read_topics=["navet/vasteras/#"]))
    await site.broker.restart()  # the broker reads the ACL at start
    cert, key = site.save(site.ca.enroll(GATEWAY_IDENTITY, tenant="navet", topics=[]), "gw2")
    gateway = site.client(cert, key, "navet-gateway")
    await gateway.connect()
    consumer = site.client(*vasteras, "arc-vasteras")
    await consumer.connect()
    inbox = Inbox()
    try:
        await consumer.subscribe("navet/#", inbox, qos=1)  # asks for every tenant
        await gateway.publish("navet/sala/events/alarm.raised", b'{"tenant": "sala"}', qos=1)
        await gateway.publish("navet/vasteras/events/alarm.raised", b'{"tenant": "vasteras"}',
                              qos=1)
        await inbox.wait_for(1)
        await gateway.publish("navet/sala/devices/x/state", b'{"tenant": "sala"}', qos=1)
        await gateway.publish("navet/vasteras/devices/y/state", b'{"tenant": "vasteras"}',
                              qos=1)
        await inbox.wait_for(2)
        assert [m.topic for m in inbox.messages] == [
            "navet/vasteras/events/alarm.raised", "navet/vasteras/devices/y/state"]
    finally:
        await consumer.disconnect()
        await gateway.disconnect()
