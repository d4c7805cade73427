"""The Node.js adapter over TLS with a client certificate from Navet's CA, on a real
Mosquitto with the topic ACL ``navet devices enroll --adapter`` writes.

Its events are stored and acknowledged; a command goes to the Node process and its
result and the door's event come back; an identity cannot publish for another tenant's
adapter, a certificate from another CA cannot connect, and a hello whose manifest
claims more than the deployment declared is refused with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import Actor, ActorKind, Command, make_event, to_cloudevent
from gateway.cli import main as cli_main
from gateway.core.gateway import Gateway
from gateway.core.security.ca import GATEWAY_IDENTITY, NavetCA
from gateway.core.settings import MqttSettings, Settings
from gateway.errors import TransportError
from gateway.testing import wait_until
from gateway.transports.mosquitto import MosquittoProcess, TlsListener
from gateway.transports.mqtt import PahoMqttClient
from tests.services import free_port, require_binary
from tests.transports.certs import make_pki

from . import node

pytestmark = [pytest.mark.mosquitto]

TIMEOUT = 30.0


@dataclass
class Site:
    ca: NavetCA
    broker: MosquittoProcess
    certs: Path
    gateway: Gateway
    tls_port: int

    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def client(self, identity: str, client_id: str) -> PahoMqttClient:
        return PahoMqttClient(MqttSettings(port=self.tls_port, tls_ca=str(self.ca.ca_cert_path),
                                           tls_cert=str(self.certs / f"{identity}.pem"),
                                           tls_key=str(self.certs / f"{identity}.key"),
                                           client_id=client_id),
                              persistent=False, connect_timeout=3.0, reconnect_delay=(0.2, 0.5))

    def tls_args(self, identity: str) -> list[str]:
        return ["--url", self.url(), "--ca", str(self.ca.ca_cert_path),
                "--cert", str(self.certs / f"{identity}.pem"),
                "--key", str(self.certs / f"{identity}.key")]


def _enroll(config: Path, identity: str, tenant: str, certs: Path, *extra: str) -> None:
    code = cli_main(["devices", "enroll", "--config", str(config), "--id", identity,
                     "--tenant", tenant, "--out", str(certs), *extra])
    assert code == 0


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    binary = require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    data = tmp_path / "data"
    config = tmp_path / "navet.yaml"
    config.write_text(json.dumps({"data_dir": str(data)}))
    certs = tmp_path / "certs"
    ca = NavetCA(data / "pki")
    certs.mkdir()
    server = ca.server_certificate(["127.0.0.1", "localhost"])
    (certs / "server.pem").write_bytes(server.cert_pem)
    (certs / "server.key").write_bytes(server.key_pem)
    _enroll(config, GATEWAY_IDENTITY, "navet", certs)
    for tenant in ("vasteras", "sala"):
        _enroll(config, f"nyckelbo-{tenant}", tenant, certs, "--adapter", "nyckelbo")
    tls_port = free_port()
    tls = TlsListener(port=tls_port, cafile=ca.ca_cert_path, certfile=certs / "server.pem",
                      keyfile=certs / "server.key", crlfile=ca.crl_path)
    broker = MosquittoProcess(port=free_port(), data_dir=tmp_path / "broker", binary=binary,
                              tls=tls, allow_anonymous=False, acl_file=ca.acl_path)
    await broker.start()
    settings = Settings(
        data_dir=data,
        mqtt={"mode": "external", "host": "127.0.0.1", "port": tls_port,
              "client_id": "navet-oop-tls", "tls_ca": str(ca.ca_cert_path),
              "tls_cert": str(certs / f"{GATEWAY_IDENTITY}.pem"),
              "tls_key": str(certs / f"{GATEWAY_IDENTITY}.key")},
        remote_adapters=[str(node.MANIFEST)],
        adapters=[{"adapter": "nyckelbo", "tenant": "vasteras",
                   "settings": {"command_timeout_s": 10}},
                  {"adapter": "nyckelbo", "tenant": "sala"}],
    )
    gw = Gateway(settings)
    await gw.start()
    try:
        yield Site(ca, broker, certs, gw, tls_port)
    finally:
        await gw.stop()
        await broker.stop()


def _locks(gw: Gateway, tenant: str) -> dict[str, int]:
    return {t: n for t, n in gw.store.count_events(tenant).items() if t.startswith("lock.")}


async def _until(check: object, what: str, log: object = lambda: "") -> None:
    """:func:`wait_until`, failing with the adapter process's log."""
    try:
        await wait_until(check, what, timeout=TIMEOUT, interval=0.05)  # type: ignore[arg-type]
    except AssertionError as err:
        raise AssertionError(f"{err}\n{log()}") from None  # type: ignore[operator]


async def test_node_adapter_over_tls_events_acks_and_a_command(
    site: Site, node_bin: str, tmp_path: Path
) -> None:
    gw = site.gateway
    adapter = node.NodeAdapter(node_bin, tmp_path, *site.tls_args("nyckelbo-vasteras"),
                               "--tenant", "vasteras", "--state", str(tmp_path / "state"),
                               "--send", "20", "--heartbeat-s", "1")
    adapter.start()
    try:
        await _until(lambda: sum(_locks(gw, "vasteras").values()) == 20, "20 lock events",
                     adapter.log)
        stored = {s.event.id for s in gw.store.query_events("vasteras", types=["lock."],
                                                            limit=100)}
        assert stored == {node.expected_id("vasteras", i) for i in range(20)}
        await _until(lambda: not list((tmp_path / "state" / "pending").glob("*.json")),
                     "every event acknowledged", adapter.log)
        proxy = gw.adapter_instances["nyckelbo-vasteras"]
        await _until(lambda: proxy.state == "online", "the hello", adapter.log)
        assert proxy.health()["link"] == "up"
        assert proxy.refusal is None

        staff = Actor(kind=ActorKind.STAFF, id="staff-17")

        def command(address: str) -> Command:
            return Command(id=f"cmd-{address}", name="lock.unlock", tenant="vasteras",
                           device=f"nyckelbo:{address}", address=address, requested_by=staff,
                           issued=datetime.now(UTC), resident="r-1")

        result = await proxy.execute(command("L02"))
        assert result.accepted, result
        assert result.vendor_ref == "cmd-cmd-L02"
        await _until(lambda: any(
            s.event.source.ref == "cmd-cmd-L02" for s in gw.store.query_events(
                "vasteras", types=["lock.unlocked"], limit=100)), "the unlock the command made")
        refused = await proxy.execute(command("L99"))
        assert not refused.accepted and "no Nyckelbo lock L99" in refused.reason
    finally:
        adapter.stop()
    # its last will (or its goodbye) is heard: the process is down, commands fail at once
    await _until(lambda: proxy.state == "offline", "the adapter process going offline")
    with pytest.raises(TransportError, match="offline"):
        await proxy.execute(command("L02"))


async def test_an_adapter_identity_cannot_publish_for_another_tenant(site: Site) -> None:
    gw = site.gateway

    def event(tenant: str, ref: str) -> bytes:
        ev = make_event("lock.locked", tenant=tenant, time=datetime(2026, 1, 1, tzinfo=UTC),
                        source={"adapter": "nyckelbo", "protocol": "test", "ref": ref},
                        device={"id": "nyckelbo:L01", "kind": "door_lock"},
                        data={"method": "auto"})
        return json.dumps(to_cloudevent(ev)).encode()

    vasteras = site.client("nyckelbo-vasteras", "nb-v")
    await vasteras.connect()
    try:
        with contextlib.suppress(TransportError):  # Mosquitto drops it, disconnects us
            await vasteras.publish("navet/sala/adapters/nyckelbo/events",
                                   event("sala", "forged"), qos=1)
    finally:
        await vasteras.disconnect()
    sala = site.client("nyckelbo-sala", "nb-s")
    await sala.connect()
    try:
        await sala.publish("navet/sala/adapters/nyckelbo/events", event("sala", "own"), qos=1)
        # forging Navet's acknowledgement is refused too: the adapter only reads acks
        with contextlib.suppress(TransportError):
            await sala.publish("navet/sala/adapters/nyckelbo/acks", b'{"id": "x"}', qos=1)
    finally:
        await sala.disconnect()
    await _until(lambda: _locks(gw, "sala") != {}, "sala's own event")
    refs = [s.event.source.ref for s in gw.store.query_events("sala", types=["lock."])]
    assert refs == ["own"]


async def test_a_certificate_from_another_ca_cannot_connect(site: Site, tmp_path: Path) -> None:
    stranger = make_pki(tmp_path / "stranger")
    client = PahoMqttClient(MqttSettings(port=site.tls_port, tls_ca=str(site.ca.ca_cert_path),
                                         tls_cert=str(stranger.client_cert),
                                         tls_key=str(stranger.client_key), client_id="nb-x"),
                            persistent=False, connect_timeout=3.0, reconnect_delay=(0.2, 0.5))
    with pytest.raises(TransportError):
        await client.connect()
    await client.disconnect()


async def test_a_hello_claiming_more_than_declared_is_refused(
    site: Site, node_bin: str, tmp_path: Path
) -> None:
    manifest = json.loads(node.MANIFEST.read_text())
    manifest["device_kinds"] = ["door_lock", "social_alarm"]
    greedy = tmp_path / "greedy.json"
    greedy.write_text(json.dumps(manifest))
    adapter = node.NodeAdapter(node_bin, tmp_path, *site.tls_args("nyckelbo-vasteras"),
                               "--tenant", "vasteras", "--state", str(tmp_path / "state"),
                               "--manifest", str(greedy))
    adapter.start()
    try:
        code = await asyncio.to_thread(adapter.wait, TIMEOUT)
    finally:
        adapter.stop()
    assert code == 3, adapter.log()
    assert "social_alarm" in adapter.log() and "not in the manifest" in adapter.log()
    proxy = site.gateway.adapter_instances["nyckelbo-vasteras"]
    assert proxy.refusal is not None and "social_alarm" in proxy.refusal
