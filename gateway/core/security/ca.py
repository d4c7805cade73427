"""Navet's certificate authority for devices and bridges that connect over MQTT with TLS.

``navet devices enroll`` issues a client certificate whose common name is the
publisher's identity (a device, or a vendor bridge that speaks for many). With
Mosquitto's ``use_identity_as_username`` the broker knows the publisher by
that name, and the ACL file Navet writes (:meth:`NavetCA.write_acl`) lets each
identity publish only on the topics it was enrolled for: a bridge for Västerås
cannot publish for Sala's devices, a lock bridge cannot pretend to be a
social alarm. The gateway's own identity reads everything.

Rotation without downtime: enrolling an identity again issues a new
certificate; the old one stays valid until it expires or is revoked, so the
device can switch at its own pace. ``revoke`` puts the serial on the CRL the
broker reads (``crlfile``); the broker must be restarted or reloaded to see it.

Everything lives under one directory (``<data_dir>/pki``): the CA key (0600),
the CA certificate, one JSON record per identity, the ACL file and the CRL.
Keys use EC P-256.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.errors import ConfigError

IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
GATEWAY_IDENTITY = "navet-gateway"


@dataclass
class Enrollment:
    identity: str
    tenant: str
    topics: list[str]
    serials: list[str] = field(default_factory=list)  # every certificate issued, newest last
    revoked: list[str] = field(default_factory=list)
    read_topics: list[str] = field(default_factory=list)  # e.g. a lock bridge's command topic


@dataclass(frozen=True)
class IssuedCert:
    identity: str
    serial: str
    cert_pem: bytes
    key_pem: bytes
    ca_pem: bytes
    not_after: dt.datetime


def _name(cn: str, tenant: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if tenant:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, tenant))
    attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Navet"))
    return x509.Name(attrs)


def _check_topic(topic: str) -> str:
    parts = topic.split("/")
    if not topic or any(("#" in p and p != "#") or ("+" in p and p != "+") for p in parts) \
            or ("#" in parts[:-1]) or any(c.isspace() for c in topic):
        raise ConfigError(f"topic filter {topic!r} is not a valid MQTT filter")
    if topic in ("#", "+/#"):
        raise ConfigError("a device may not be allowed every topic ('#'); name its own")
    return topic


class NavetCA:
    def __init__(self, directory: Path, *, now: dt.datetime | None = None) -> None:
        self.directory = directory
        self._now = now

    def now(self) -> dt.datetime:
        return self._now or dt.datetime.now(dt.UTC)

    # ------------------------------------------------------------------ files

    @property
    def ca_cert_path(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key_path(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def acl_path(self) -> Path:
        return self.directory / "mosquitto.acl"

    @property
    def crl_path(self) -> Path:
        return self.directory / "crl.pem"

    def _record_path(self, identity: str) -> Path:
        return self.directory / "identities" / f"{identity}.json"

    # ------------------------------------------------------------------ CA

    def ensure(self) -> x509.Certificate:
        """The CA certificate, created (with its key, 0600) on first use."""
        if self.ca_cert_path.exists():
            return x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        now = self.now()
        cert = (x509.CertificateBuilder().subject_name(_name("Navet device CA"))
                .issuer_name(_name("Navet device CA")).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(
                    digital_signature=False, content_commitment=False, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=True,
                    crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .sign(key, hashes.SHA256()))
        _write_private(self.ca_key_path, key)
        self.ca_cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.write_crl()
        return cert

    def _ca(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        cert = self.ensure()
        key = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return cert, key

    # ------------------------------------------------------------------ identities

    def server_certificate(self, names: list[str], *, days: int = 825) -> IssuedCert:
        """A server certificate for the MQTT broker (not an identity; not in the ACL)."""
        return self._issue("mqtt-broker", None, days, server_names=names)

    def enroll(self, identity: str, *, tenant: str, topics: list[str],
               read_topics: list[str] | None = None, days: int = 365) -> IssuedCert:
        """Issue a client certificate for ``identity`` allowed to publish on ``topics``."""
        if not IDENTITY.match(identity):
            raise ConfigError(f"identity {identity!r} must be 1-64 letters, digits, . _ : -")
        if identity == GATEWAY_IDENTITY:
            topics = ["#"]  # the gateway reads and writes everything (see write_acl)
        elif not topics:
            raise ConfigError(f"{identity}: name the topics it may publish on (--topic)")
        else:
            topics = [_check_topic(t) for t in topics]
        reads = [_check_topic(t) for t in (read_topics or [])]
        record = self.get(identity) or Enrollment(identity, tenant, topics)
        if record.tenant != tenant:
            raise ConfigError(f"{identity} is enrolled for tenant {record.tenant}, not {tenant}")
        issued = self._issue(identity, tenant, days)
        record.topics, record.read_topics = topics, reads
        record.serials.append(issued.serial)
        self._save(record)
        self.write_acl()
        return issued

    def _issue(self, cn: str, tenant: str | None, days: int,
               server_names: list[str] | None = None) -> IssuedCert:
        if not 1 <= days <= 3650:
            raise ConfigError(f"certificate lifetime {days} days must be 1..3650")
        ca_cert, ca_key = self._ca()
        key = ec.generate_private_key(ec.SECP256R1())
        now = self.now()
        serial = x509.random_serial_number()
        builder = (x509.CertificateBuilder().subject_name(_name(cn, tenant))
                   .issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(serial)
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(x509.ExtendedKeyUsage(
                       [ExtendedKeyUsageOID.CLIENT_AUTH]
                       + ([ExtendedKeyUsageOID.SERVER_AUTH] if server_names else [])),
                       critical=False))
        if server_names:
            sans: list[x509.GeneralName] = []
            for n in server_names:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(n)))
                except ValueError:
                    sans.append(x509.DNSName(n))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return IssuedCert(cn, format(serial, "x"),
                          cert.public_bytes(serialization.Encoding.PEM),
                          key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()),
                          ca_cert.public_bytes(serialization.Encoding.PEM),
                          now + dt.timedelta(days=days))

    def get(self, identity: str) -> Enrollment | None:
        path = self._record_path(identity)
        if not path.exists():
            return None
        return Enrollment(**json.loads(path.read_text(encoding="utf-8")))

    def identities(self) -> list[Enrollment]:
        folder = self.directory / "identities"
        if not folder.exists():
            return []
        return [Enrollment(**json.loads(p.read_text(encoding="utf-8")))
                for p in sorted(folder.glob("*.json"))]

    def _save(self, record: Enrollment) -> None:
        path = self._record_path(record.identity)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2), encoding="utf-8")
        os.replace(tmp, path)

    def revoke(self, identity: str, serial: str | None = None) -> list[str]:
        """Revoke one certificate of ``identity`` (or all of them); returns the serials."""
        record = self.get(identity)
        if record is None:
            raise ConfigError(f"no enrolled identity {identity!r}")
        chosen = [serial] if serial else [s for s in record.serials if s not in record.revoked]
        unknown = [s for s in chosen if s not in record.serials]
        if unknown:
            raise ConfigError(f"{identity} has no certificate with serial {unknown[0]}")
        record.revoked = sorted(set(record.revoked) | set(chosen))
        self._save(record)
        self.write_crl()
        if not set(record.serials) - set(record.revoked):
            self.write_acl()  # nothing valid left: drop it from the ACL as well
        return chosen

    # ------------------------------------------------------------------ broker files

    def write_crl(self) -> Path:
        ca_cert, ca_key = (x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes()),
                           serialization.load_pem_private_key(self.ca_key_path.read_bytes(),
                                                              password=None))
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        now = self.now()
        builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
                   .last_update(now - dt.timedelta(minutes=5))
                   .next_update(now + dt.timedelta(days=30)))
        for record in self.identities():
            for serial in record.revoked:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
                    .revocation_date(now).build())
        crl = builder.sign(ca_key, hashes.SHA256())
        self.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return self.crl_path

    def write_acl(self) -> Path:
        """Mosquitto ACL: each identity writes its own topics; the gateway reads all."""
        lines = ["# Written by Navet (navet devices enroll); do not edit by hand.",
                 f"user {GATEWAY_IDENTITY}", "topic readwrite #", ""]
        for record in self.identities():
            if record.identity == GATEWAY_IDENTITY:
                continue
            if not set(record.serials) - set(record.revoked):
                continue
            lines.append(f"user {record.identity}")
            lines += [f"topic write {t}" for t in record.topics]
            lines += [f"topic read {t}" for t in record.read_topics]
            lines.append("")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.acl_path.write_text("\n".join(lines), encoding="utf-8")
        return self.acl_path


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
