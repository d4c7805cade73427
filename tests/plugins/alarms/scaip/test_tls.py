"""SCAIP over SIP/TLS: server certificate, optional and required unit certificates.

Certificates are made here with ``cryptography``: a CA that signs the receiver's and the
units' certificates, and a second CA nobody trusts. The simulated unit speaks SIP over TLS
to the receiver on a free localhost port.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import ValidationError

from gateway import FakeClock, make_event
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker
from plugins.alarms.scaip.models import ScaipSettings
from simulators.scaip import ScaipUnit

TENANT = "vasteras"


@dataclass(frozen=True)
class Pki:
    ca: Path
    server: tuple[Path, Path]
    unit: tuple[Path, Path]
    rogue_unit: tuple[Path, Path]


def _issue(directory: Path, name: str, cn: str, issuer: tuple[x509.Certificate, Any] | None,
           *, ca: bool = False, server: bool = False) -> tuple[x509.Certificate, Any, Path, Path]:
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert, key, cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca_cert, ca_key, ca_path, _ = _issue(d, "ca", "Navet test CA", None, ca=True)
    *_, server_cert, server_key = _issue(d, "server", "127.0.0.1", (ca_cert, ca_key),
                                         server=True)
    *_, unit_cert, unit_key = _issue(d, "unit7", "unit7", (ca_cert, ca_key))
    rogue_cert, rogue_key, *_ = _issue(d, "rogue-ca", "Someone else's CA", None, ca=True)
    *_, rogue_unit_cert, rogue_unit_key = _issue(d, "rogue-unit", "unit7",
                                                 (rogue_cert, rogue_key))
    return Pki(ca_path, (server_cert, server_key), (unit_cert, unit_key),
               (rogue_unit_cert, rogue_unit_key))


def scaip_settings(pki: Pki, **tls: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": 0, "tls_port": 0, "transports": ["udp", "tls"],
            "tls_cert": str(pki.server[0]), "tls_key": str(pki.server[1]),
            "units": {"unit7": {"password": "s3cret"}}, **tls}


async def start_gateway(tmp_path: Path, clock: FakeClock, broker: MemoryBroker,
                        scaip: dict[str, Any]) -> Gateway:
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"},
                        adapters=[{"adapter": "scaip", "tenant": TENANT, "settings": scaip}])
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    return gw


@pytest.fixture
async def strict(tmp_path: Path, clock: FakeClock, broker: MemoryBroker,
                 pki: Pki) -> AsyncIterator[Gateway]:
    """A receiver that requires a unit certificate signed by the CA."""
    gw = await start_gateway(tmp_path, clock, broker, scaip_settings(
        pki, tls_client_ca=str(pki.ca), tls_require_client_cert=True))
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def units(clock: FakeClock, pki: Pki) -> AsyncIterator[Callable[..., Any]]:
    started: list[ScaipUnit] = []

    async def make(gw: Gateway, cert: tuple[Path, Path] | None = None, *,
                   password: str = "s3cret", ca: Path | None = pki.ca) -> ScaipUnit:
        port = gw.adapter_instances.by_adapter("scaip").ports["tls"]
        unit = ScaipUnit("unit7", password, ("127.0.0.1", port), clock=clock, transport="tls",
                         tls_ca=str(ca) if ca else None, timeout_s=2.0,
                         tls_cert=str(cert[0]) if cert else None,
                         tls_key=str(cert[1]) if cert else None)
        started.append(unit)
        await unit.start()
        return unit

    yield make
    for unit in started:
        await unit.stop()


def stored(gw: Gateway, type_: str) -> list[Any]:
    return [s.event for s in gw.store.query_events(TENANT, types=[type_])]


async def test_a_unit_with_its_certificate_registers_and_is_held_over_tls(
    strict: Gateway, clock: FakeClock, units: Callable[..., Any], pki: Pki
) -> None:
    unit: ScaipUnit = await units(strict, pki.unit)
    assert await unit.register() == 200
    assert (await unit.heartbeat()).snu == 0
    session = asyncio.create_task(unit.alarm("personal_button"))
    await wait_until(lambda: unit.holds >= 1)
    [raised] = stored(strict, "alarm.raised")
    assert raised.device.id == "scaip:unit7" and raised.priority == "critical"
    # the raw frame is kept as it came: over SIP/TLS
    row = strict.store.read_sync(lambda conn: conn.execute(
        "SELECT transport FROM frames ORDER BY received DESC LIMIT 1").fetchone())
    assert row[0] == "sip-tls"

    await strict.emit([make_event(
        "alarm.acknowledged", tenant=TENANT, time=clock.now(),
        source={"adapter": "navet", "protocol": "api", "ref": "ack-1"}, alarm=raised.alarm,
        data={"by": {"kind": "operator", "id": "op-1"}})])
    await clock.advance(10)
    assert (await asyncio.wait_for(session, 10)).snu == 0
    assert [m.snu for m in unit.received] == [0, 4, 0]  # every <mrs> came back over TLS


async def test_digest_authentication_still_applies_over_tls(
    strict: Gateway, units: Callable[..., Any], pki: Pki
) -> None:
    unit: ScaipUnit = await units(strict, pki.unit, password="wrong")
    assert await unit.register() == 401


@pytest.mark.parametrize("which", ["none", "rogue"])
async def test_a_unit_without_a_trusted_certificate_is_refused(
    strict: Gateway, units: Callable[..., Any], pki: Pki, which: str
) -> None:
    cert = None if which == "none" else pki.rogue_unit
    with pytest.raises((ssl.SSLError, ConnectionError, TimeoutError)):
        unit: ScaipUnit = await units(strict, cert)
        await unit.register()  # TLS 1.3: the refusal arrives after the client's handshake
    assert strict.store.count_events(TENANT) == {}


async def test_a_unit_that_does_not_trust_the_receiver_will_not_talk(
    strict: Gateway, units: Callable[..., Any], pki: Pki
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await units(strict, pki.unit, ca=None)  # system CAs only: our test CA is unknown


async def test_client_certificate_is_optional_unless_required(
    tmp_path: Path, clock: FakeClock, broker: MemoryBroker, units: Callable[..., Any],
    pki: Pki
) -> None:
    gw = await start_gateway(tmp_path, clock, broker,
                             scaip_settings(pki, tls_client_ca=str(pki.ca)))
    try:
        unit: ScaipUnit = await units(gw)  # no certificate: digest alone
        assert await unit.register() == 200
        assert (await unit.event("low_battery")).snu == 0
        assert [e.data.kind for e in stored(gw, "alarm.raised")] == ["technical.low_battery"]
    finally:
        await gw.stop()


def test_tls_settings_name_what_is_missing(tmp_path: Path, pki: Pki) -> None:
    assert ScaipSettings().tls_port == 5061
    with pytest.raises(ValidationError, match="set tls_cert and tls_key"):
        ScaipSettings(transports=("udp", "tls"))
    with pytest.raises(ValidationError, match="needs tls_client_ca"):
        ScaipSettings.model_validate(scaip_settings(pki, tls_require_client_cert=True))
    with pytest.raises(ValidationError, match="no such file"):
        ScaipSettings.model_validate(scaip_settings(pki, tls_key=str(tmp_path / "nope.key")))
    with pytest.raises(ValidationError, match="unknown \\['sctp'\\]"):
        ScaipSettings(transports=("sctp",))


async def test_behind_a_balancer_the_proxy_header_comes_first_then_tls(
    tmp_path: Path, clock: FakeClock, broker: MemoryBroker, pki: Pki
) -> None:
    import contextlib

    gw = await start_gateway(tmp_path, clock, broker, scaip_settings(
        pki, listener={"proxy_protocol": {"trusted": ["127.0.0.1"]}}))
    port = gw.adapter_instances.by_adapter("scaip").ports["tls"]
    listener = gw.adapter_instances.by_adapter("scaip").ua.listener
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(pki.ca))
    register = (b"REGISTER sip:navet.local SIP/2.0\r\nVia: SIP/2.0/TLS 198.51.100.7:51234;"
                b"branch=z9hG4bKp1\r\nFrom: <sip:unit7@navet.local>;tag=t\r\n"
                b"To: <sip:unit7@navet.local>\r\nCall-ID: p1\r\nCSeq: 1 REGISTER\r\n"
                b"Content-Length: 0\r\n\r\n")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # the balancer
        writer.write(b"PROXY TCP4 198.51.100.7 127.0.0.1 51234 5061\r\n")
        await writer.drain()
        await writer.start_tls(client, server_hostname="127.0.0.1")
        writer.write(register)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert answer.startswith(b"SIP/2.0 401")  # TLS and SIP after the header
        assert ("tls", "198.51.100.7", 51234) in listener._tcp_peers  # the unit's address
        writer.close()

        liar_reader, liar = await asyncio.open_connection(  # not a trusted balancer
            "127.0.0.1", port, local_addr=("127.0.0.2", 0))
        liar.write(b"PROXY TCP4 10.9.9.9 127.0.0.1 1 2\r\n")
        with contextlib.suppress(ConnectionResetError):  # a reset is a refusal too
            assert await asyncio.wait_for(liar_reader.read(), 5) == b""  # handshake refused
        liar.close()
        counted = gw.metrics.registry.get_sample_value(
            "navet_listener_refused_total",
            {"listener": "scaip-vasteras/tls", "reason": "tls_handshake_failed"})
        assert counted == 1
    finally:
        await gw.stop()
