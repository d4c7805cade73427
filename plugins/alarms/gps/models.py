"""Settings of a Stigfinnare instance, and the JSON messages its cloud posts (wire v1)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .const import DEFAULT_PATH, DEFAULT_TOLERANCE_S


class StigfinnareSettings(BaseModel):
    """One Stigfinnare organisation (one municipality's account at the vendor) per instance.

    The secret is shared with the vendor out of band; during a rotation both the new
    ``secret`` and the ``previous_secret`` are accepted until the vendor has switched.
    """

    model_config = ConfigDict(extra="forbid")

    organisation: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$",
                              description="The organisation id Stigfinnare sends in its header.")
    secret: str = Field(min_length=32, max_length=256, repr=False,
                        description="Shared HMAC-SHA256 secret, at least 32 characters.")
    previous_secret: str | None = Field(default=None, min_length=32, max_length=256,
                                        repr=False)
    path: str = Field(default=DEFAULT_PATH, pattern=r"^[A-Za-z0-9._/-]{1,100}$")
    tolerance_s: int = Field(default=DEFAULT_TOLERANCE_S, ge=30, le=3600,
                             description="Replay window: max distance of the signed "
                             "timestamp from Navet's clock.")

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.secret, self.previous_secret) if s]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WirePosition(_Wire):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    source: Literal["gps", "wifi", "cell"] = "gps"
    time: AwareDatetime | None = Field(default=None, description="When the fix was taken.")
    speed_mps: float | None = Field(default=None, ge=0, le=100)


class WireBattery(_Wire):
    level_pct: int = Field(ge=0, le=100)
    low: bool | None = None
    charging: bool = False


class WireDevice(_Wire):
    imei: str = Field(pattern=r"^[0-9]{15}$")
    model: str | None = Field(default=None, max_length=64)


MessageType = Literal["position", "sos", "fall", "battery", "heartbeat"]


class WireMessage(_Wire):
    """One message as posted by the Stigfinnare cloud (one per request)."""

    v: Literal[1]
    id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    type: MessageType
    time: AwareDatetime
    device: WireDevice
    position: WirePosition | None = None
    battery: WireBattery | None = None
    trigger: Literal["periodic", "movement", "request"] | None = None
    interval_s: int | None = Field(default=None, ge=10, le=86_400)

    @model_validator(mode="after")
    def _needs(self) -> WireMessage:
        if self.type == "position" and self.position is None:
            raise ValueError("a 'position' message needs a position")
        if self.type == "battery" and self.battery is None:
            raise ValueError("a 'battery' message needs a battery object")
        if self.trigger is not None and self.type != "position":
            raise ValueError("trigger belongs to 'position' messages only")
        if self.interval_s is not None and self.type != "heartbeat":
            raise ValueError("interval_s belongs to 'heartbeat' messages only")
        return self
