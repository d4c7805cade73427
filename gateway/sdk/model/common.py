"""Building blocks of the envelope shared by every event type (contract v1)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

CONTRACT_VERSION = "1.3"
"""The version of the common model this gateway speaks. Adapters declare a range."""

TenantId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Tenant: one municipality or joint alarm service, lower-case slug.",
        examples=["vasteras"],
    ),
]
Pseudonym = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Pseudonymous resident id. Never a personal identity number.",
        examples=["r-7f3a91"],
    ),
]


class Strict(BaseModel):
    """Base of every contract model: unknown fields are an error, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceKind(StrEnum):
    SOCIAL_ALARM = "social_alarm"
    PASSIVE_SENSOR = "passive_sensor"
    GPS_ALARM = "gps_alarm"
    DOOR_LOCK = "door_lock"
    MEDICATION_DISPENSER = "medication_dispenser"
    CAMERA = "camera"
    ALARM_PANEL = "alarm_panel"
    OTHER = "other"


class Priority(StrEnum):
    """How urgently a person must act. ``critical`` is a person in danger now."""

    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class DeviceRef(Strict):
    """The device an event came from or concerns."""

    id: str = Field(description="Navet device id: '<adapter>:<address at the vendor>'.")
    kind: DeviceKind
    vendor: str | None = None
    model: str | None = None
    serial: str | None = None


class SourceRef(Strict):
    """Where an event came from: adapter, protocol and the vendor's own references."""

    adapter: str = Field(description="Adapter name, or 'navet' for events Navet derives.")
    protocol: str = Field(description="Wire protocol, e.g. 'zigbee2mqtt', 'scaip', 'sia-dc09'.")
    ref: str | None = Field(
        default=None, description="Vendor message id or protocol reference, when one exists."
    )
    frame: str | None = Field(
        default=None,
        description="Reference (sha256) of the raw frame kept for audit and replay.",
    )


class GeoPoint(Strict):
    """A WGS-84 position."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0)


class Location(Strict):
    """Where something happened: free text, a site code, and/or a point."""

    text: str | None = Field(default=None, max_length=200)
    code: str | None = Field(default=None, max_length=64)
    point: GeoPoint | None = None
    # Since contract 1.2: the zone and user as the source protocol sent them (digits kept as
    # sent, leading zeros included), so a forwarding sink can pass them on unchanged:
    # DC-09/SIA zone and user, Contact ID's three digits, SCAIP lco/did, a Zigbee endpoint.
    zone: str | None = Field(default=None, max_length=16, pattern=r"^[0-9A-Za-z]+$")
    user: str | None = Field(default=None, max_length=16, pattern=r"^[0-9A-Za-z]+$")


class ActorKind(StrEnum):
    STAFF = "staff"
    OPERATOR = "operator"
    RESIDENT = "resident"
    DEVICE = "device"
    SYSTEM = "system"


class Actor(Strict):
    """Who did something: a person by their Navet id, a device, or Navet itself."""

    kind: ActorKind
    id: str = Field(max_length=128)
    name: str | None = Field(default=None, max_length=200)
