"""HTTPS to a consumer with its own CA that demands a client certificate (mutual TLS)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.errors import ConfigError
from gateway.transports.memory import MemoryBroker
from tests.services import free_port
from tests.transports.certs import Pki, make_pki

from .conftest import SECRET, SUB, T0, TENANT, Consumer, Rig


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
async def tls_consumer(pki: Pki) -> AsyncIterator[Consumer]:
    c = Consumer(free_port(), tls={
        "ssl_certfile": str(pki.server_cert), "ssl_keyfile": str(pki.server_key),
        "ssl_ca_certs": str(pki.ca), "ssl_cert_reqs": ssl.CERT_REQUIRED,
    })
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


async def start(tmp_path: Path, consumer: Consumer, **tls: Any) -> Rig:
    clock = FakeClock(T0)
    gw = Gateway(Settings(data_dir=tmp_path / "gw", mqtt={"mode": "memory"},
                          outbound={"allow_loopback": True}, subscriptions=[
        {"id": SUB, "tenant": TENANT, "sink": "webhook",
         "settings": {"url": consumer.url, "secret": SECRET, **tls}}]),
        clock=clock, mqtt=MemoryBroker().client("navet"), rules=[])
    try:
        await gw.start()
    except ConfigError:
        await gw.stop()
        raise
    assert gw.outbox is not None
    await gw.outbox.stop()
    return Rig(gw, clock, consumer, api=None)  # type: ignore[arg-type]  # no API needed


async def test_mutual_tls_with_the_municipalitys_own_ca(
    tmp_path: Path, pki: Pki, tls_consumer: Consumer
) -> None:
    rig = await start(tmp_path, tls_consumer, tls_ca=str(pki.ca),
                      tls_cert=str(pki.client_cert), tls_key=str(pki.client_key))
    try:
        event = await rig.emit()
        assert await rig.deliver_now() == 1
        assert tls_consumer.accepted_ids() == [event.id]
    finally:
        await rig.gateway.stop()


async def test_an_untrusted_server_certificate_is_a_retried_failure_not_a_delivery(
    tmp_path: Path, pki: Pki, tls_consumer: Consumer
) -> None:
    rig = await start(tmp_path, tls_consumer)  # public trust only: the test CA is unknown
    try:
        await rig.emit()
        assert await rig.deliver_now() == 0
        (row,) = rig.rows()
        assert row["state"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
        assert tls_consumer.requests == []
    finally:
        await rig.gateway.stop()


async def test_missing_tls_files_are_refused_at_start(tmp_path: Path, pki: Pki) -> None:
    consumer = Consumer(free_port(), tls={"ssl_certfile": "x"})  # never started
    with pytest.raises(ConfigError, match="tls_ca: no such file"):
        await start(tmp_path, consumer, tls_ca=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="cannot load TLS files"):
        await start(tmp_path, consumer, tls_cert=str(pki.ca))  # a certificate without its key
