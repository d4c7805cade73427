"""SCAIP message models (<mrq>, <mrs>) and the receiver's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway import ListenerSettings

from .const import DEFAULT_PORT, DEFAULT_TLS_PORT, MAX_XML_BYTES


@dataclass(frozen=True, slots=True)
class Geo:
    """``<lge>``: a WGS-84 point (``geo``), its time (``tim``) and/or an NMEA GGA sentence."""

    lat: float | None = None
    lon: float | None = None
    tim: str | None = None
    gga: str | None = None


@dataclass(frozen=True, slots=True)
class Mrq:
    """A SCAIP message request (SS 91100 Table 1). Codes are integers, texts stripped."""

    ref: str
    cid: str
    dty: int
    mty: str = "ME"
    ver: str | None = None
    sco: int | None = None
    cha: int | None = None
    hbo: int | None = None
    did: str | None = None
    dco: int | None = None
    dte: str | None = None
    crd: tuple[str, ...] = ()
    stc: int | None = None
    stt: str | None = None
    pri: int | None = None
    lco: int | None = None
    lva: str | None = None
    lge: Geo | None = None
    lte: str | None = None
    ico: int | None = None
    ite: str | None = None
    ame: int | None = None


@dataclass(frozen=True, slots=True)
class Mrs:
    """A SCAIP message response (SS 91100 Table 2)."""

    ref: str
    snu: int
    ste: str | None = None
    cve: str | None = None
    mre: int | None = None
    cre: int | None = None
    tnu: tuple[str, ...] = field(default=())
    hbi: int | None = None


class UnitSettings(BaseModel):
    """One alarm unit (local unit & controller), keyed by its SIP user name."""

    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(
        default=None, description="SIP digest password. None: the unit is not authenticated "
        "(allowed only when the adapter's require_auth is false)."
    )
    next_password: str | None = Field(
        default=None, description="Rotation without downtime: while set, the unit may "
        "authenticate with either password; make it 'password' once the unit uses it."
    )
    registers: bool = Field(
        default=True, description="False: the unit never REGISTERs (TR 91102 §7.11 peer-to-peer "
        "mode); the <mrs> goes to the Contact of its MESSAGE."
    )
    symmetric: bool = Field(
        default=False, description="The unit is behind NAT: send every response and the <mrs> "
        "MESSAGE to the address and port its requests come from (symmetric response, RFC "
        "3581), not to its Via and Contact, which name an address only valid behind the NAT."
    )
    mrs_in_200: bool = Field(
        default=False, description="Also put <mrs> in the body of the 200 OK (some vendors "
        "read it there); it is always sent as a separate MESSAGE too."
    )
    hbi: int | None = Field(
        default=None, ge=1, le=1440, description="Heartbeat interval in minutes to ask of a "
        "unit that offers hbo=001."
    )
    mre: int | None = Field(
        default=None, ge=0, le=3, description="media-reply in the final snu=0 answer to an "
        "alarm (1 = duplex voice call wanted). None: omitted, no voice."
    )
    callback_minutes: int | None = Field(
        default=None, ge=1, le=60, description="When the unit asks for a callback (cha=1): "
        "answer cre=<minutes>, the unit keeps auto-answer open that long."
    )
    call_to: str | None = Field(
        default=None, pattern=r"^(gsm|sip):\S+$", description="Where the unit should call "
        "(cre=62 with this tnu), e.g. 'gsm:+46101234567' or 'sip:larm@centre.example'."
    )
    call_scheme: Literal["gsm", "sip"] | None = Field(
        default=None, description="Preferred bearer when the unit offers several: tnu "
        "'<scheme>:' with cre=61 (call the predefined receiver that way)."
    )


class ScaipSettings(BaseModel):
    """Settings of one SCAIP receiver instance (one tenant)."""

    model_config = ConfigDict(extra="forbid")

    host: str = "0.0.0.0"
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="0 picks a free port.")
    transports: tuple[str, ...] = Field(
        default=("udp", "tcp"), description="Any of udp, tcp, tls (tls needs tls_cert/tls_key).")
    tls_port: int = Field(default=DEFAULT_TLS_PORT, ge=0, le=65535,
                          description="Port of SIP over TLS; 0 picks a free port.")
    tls_cert: Path | None = Field(default=None, description="Server certificate chain (PEM).")
    tls_key: Path | None = Field(default=None, description="Its private key (PEM, unencrypted).")
    tls_client_ca: Path | None = Field(
        default=None, description="CA (PEM) that signs unit certificates. Set: units are asked "
        "for a certificate, and one that does not verify is refused.")
    tls_require_client_cert: bool = Field(
        default=False, description="Refuse TLS connections from units without a certificate "
        "signed by tls_client_ca.")
    realm: str = "navet"
    require_auth: bool = True
    allow_unknown_units: bool = Field(
        default=False, description="Accept units not listed in 'units' (only without auth)."
    )
    units: dict[str, UnitSettings] = Field(default_factory=dict)
    hold: bool = Field(
        default=True, description="Answer HOLD (snu=4) to alarms until they are acknowledged."
    )
    hold_technical: bool = Field(
        default=False, description="Also hold technical alarms (low battery, mains lost ...)."
    )
    nonce_ttl_s: int = Field(default=300, ge=10)
    registration_max_s: int = Field(default=3600, ge=60)
    read_timeout_s: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=256, ge=1,
                                 description="TCP and TLS connections at once, each.")
    listener: ListenerSettings = Field(
        default_factory=ListenerSettings,
        description="Admission, fair UDP intake, PROXY protocol and refusal reports "
        "(docs/protocols/scaip.md, Listener protection).")
    max_xml_bytes: int = Field(default=MAX_XML_BYTES, ge=256, le=MAX_XML_BYTES * 4)
    server_name: str = Field(default="navet", description="User part of our own SIP URI.")
    vendor: str = "SCAIP (SS 91100) alarm units"

    @model_validator(mode="after")
    def _tls(self) -> ScaipSettings:
        unknown = sorted(set(self.transports) - {"udp", "tcp", "tls"})
        if unknown:
            raise ValueError(f"transports: unknown {unknown}; use udp, tcp and/or tls")
        if "tls" in self.transports and (self.tls_cert is None or self.tls_key is None):
            raise ValueError("transports has tls: set tls_cert and tls_key (PEM files)")
        if self.tls_require_client_cert and self.tls_client_ca is None:
            raise ValueError("tls_require_client_cert needs tls_client_ca, the CA that signs "
                             "unit certificates")
        for name in ("tls_cert", "tls_key", "tls_client_ca"):
            path = getattr(self, name)
            if "tls" in self.transports and path is not None and not path.is_file():
                raise ValueError(f"{name}: no such file {path}")
        return self
