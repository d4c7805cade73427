"""How Navet reaches its MQTT broker: the transports' own settings.

Navet's settings (``gateway.core.settings.Settings.mqtt``) hold one of these;
transports know nothing of the core.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class MqttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["embedded", "external", "memory"] = Field(
        default="embedded",
        description="embedded: start a broker inside Navet; external: connect to one; "
        "memory: in-process twin, no sockets (tests).",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=0, le=65535)
    username: str | None = None
    password: str | None = None
    client_id: str = "navet-gateway"
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    northbound_prefix: str = "navet"
    device_tls_port: int | None = Field(
        default=None, ge=1, le=65535, description="embedded (Mosquitto): also listen with "
        "TLS on this port for devices, bridges and out-of-process adapters with client "
        "certificates from Navet's CA (<data_dir>/pki, navet devices enroll), each identity "
        "held to its topics by the CA's ACL (docs/security.md).")
    device_tls_host: str | None = Field(
        default=None, description="Address of the device TLS listener (default: `host`); "
        "0.0.0.0 for devices on other machines.")
    share_group: str | None = Field(
        default=None, pattern=r"^[^/+#\s]+$", description="Scale-out: subscribe the adapters' "
        "topics as MQTT shared subscriptions ($share/<group>.<adapter instance>/<filter>), so "
        "several Navet instances on one broker split the messages instead of each taking all "
        "of them. Every instance then needs its own client id: Navet appends its instance "
        "name (docs/deployment.md, scale-out).")
    isolate_adapters: bool = Field(
        default=True, description="Give every adapter instance its own MQTT connection "
        "(client id '<client_id>.<instance>'), so a flood from one vendor's bridge queues in "
        "its own broker session and cannot hold back another vendor's alarms.")
    device_tls_names: list[str] = Field(
        default_factory=list, description="More names (DNS names or addresses) for the device "
        "TLS listener's server certificate, besides device_tls_host, localhost and "
        "127.0.0.1: the names devices connect to when the listener binds 0.0.0.0, runs in "
        "a container or sits behind NAT. A certificate that lacks one is issued again at "
        "start (docs/deployment.md).")
