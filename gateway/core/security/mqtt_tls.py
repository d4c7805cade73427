"""The embedded broker's TLS listener for certificate identities from Navet's CA.

The transports know nothing of the core: the core issues the listener's server
certificate from its CA and hands the transports a plain :class:`TlsListener`.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from cryptography import x509

from gateway.transports.mosquitto import TlsListener
from gateway.transports.settings import MqttSettings

from .ca import NavetCA


def device_tls_listener(settings: MqttSettings, pki_dir: Path) -> TlsListener:
    """The embedded Mosquitto's TLS listener for certificate identities (mqtt.device_tls_port).

    Its server certificate is issued by Navet's CA (``<pki_dir>``) on first use for the
    listener's address, ``mqtt.device_tls_names``, ``localhost`` and ``127.0.0.1``, and again
    when a name is missing from it (a name added to the settings); the ACL and CRL are the
    CA's.
    """
    assert settings.device_tls_port is not None
    host = settings.device_tls_host or settings.host
    ca = NavetCA(pki_dir)
    ca.ensure()
    cert, key = pki_dir / "mqtt-broker.pem", pki_dir / "mqtt-broker.key"
    names = sorted({host, "localhost", "127.0.0.1", *settings.device_tls_names}
                   - {"0.0.0.0", "::"})
    if not cert.exists() or not key.exists() or not _names_cover(cert, names):
        issued = ca.server_certificate(names)
        cert.write_bytes(issued.cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(issued.key_pem)
    acl = ca.acl_path if ca.acl_path.exists() else ca.write_acl()
    return TlsListener(port=settings.device_tls_port, host=host, cafile=ca.ca_cert_path,
                       certfile=cert, keyfile=key, crlfile=ca.crl_path, acl_file=acl)


def _canonical(name: str) -> str:
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name.lower()


def _names_cover(cert: Path, names: list[str]) -> bool:
    """Whether the certificate at ``cert`` names every one of ``names`` (DNS or IP)."""
    try:
        loaded = x509.load_pem_x509_certificate(cert.read_bytes())
        sans = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return False
    present = {_canonical(n) for n in sans.get_values_for_type(x509.DNSName)}
    present |= {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}
    return {_canonical(n) for n in names} <= present
