"""The device TLS listener's server certificate names what devices connect to
(mqtt.device_tls_host, mqtt.device_tls_names), and is issued again when a name is added."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from gateway.core.security.mqtt_tls import device_tls_listener
from gateway.transports.settings import MqttSettings


def _names(cert: Path) -> set[str]:
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    sans = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(sans.get_values_for_type(x509.DNSName)) | {
        str(ip) for ip in sans.get_values_for_type(x509.IPAddress)}


def test_a_listener_on_every_interface_names_the_names_devices_use(tmp_path: Path) -> None:
    settings = MqttSettings(device_tls_port=8883, device_tls_host="0.0.0.0",
                            device_tls_names=["mqtt.kommun.example", "192.0.2.10"])
    listener = device_tls_listener(settings, tmp_path / "pki")
    assert listener.host == "0.0.0.0"
    assert _names(listener.certfile) == {"mqtt.kommun.example", "192.0.2.10", "localhost",
                                         "127.0.0.1"}


def test_the_certificate_is_kept_while_it_names_everything_and_issued_again_when_not(
        tmp_path: Path) -> None:
    first = device_tls_listener(MqttSettings(device_tls_port=8883, device_tls_host="0.0.0.0"),
                                tmp_path / "pki")
    issued = first.certfile.read_bytes()
    assert _names(first.certfile) == {"localhost", "127.0.0.1"}

    again = device_tls_listener(MqttSettings(device_tls_port=8883, device_tls_host="0.0.0.0"),
                                tmp_path / "pki")
    assert again.certfile.read_bytes() == issued  # nothing new to name: the same certificate

    named = device_tls_listener(
        MqttSettings(device_tls_port=8883, device_tls_host="0.0.0.0",
                     device_tls_names=["MQTT.kommun.example"]), tmp_path / "pki")
    assert named.certfile.read_bytes() != issued
    assert "mqtt.kommun.example" in {n.lower() for n in _names(named.certfile)}
    assert (tmp_path / "pki" / "mqtt-broker.key").stat().st_mode & 0o777 == 0o600
