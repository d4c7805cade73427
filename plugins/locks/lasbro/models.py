"""Låsbro configuration and payload models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LasbroSettings(BaseModel):
    """One municipality's Låsbro bridges on the MQTT broker."""

    model_config = ConfigDict(extra="forbid")

    base_topic: str = Field(default="lasbro", pattern=r"^[A-Za-z0-9_/-]+$",
                            description="Topic root the bridges publish under.")
    bridge: str = Field(default="hub1", pattern=r"^[A-Za-z0-9_-]+$",
                        description="Bridge to send a command through when the lock has not "
                                    "reported yet (otherwise: the bridge it last reported on).")
    qos: int = Field(default=1, ge=0, le=2)
    command_timeout_s: float = Field(default=10.0, gt=0,
                                     description="How long to wait for the bridge's result.")


class LockEvent(BaseModel):
    """``<base>/<bridge>/<lock>/event``."""

    model_config = ConfigDict(extra="ignore")

    seq: int = Field(ge=0, description="Per-lock counter; with the lock id, the event's id.")
    ts: float = Field(gt=0, description="Unix time at the lock, seconds.")
    evt: str
    src: str | None = None
    uid: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=128)
    why: str | None = Field(default=None, max_length=64)
    lvl: int | None = Field(default=None, ge=0, le=100)
    low: bool | None = None
    on: bool | None = None
    model: str | None = Field(default=None, max_length=64)


class CommandResultMsg(BaseModel):
    """``<base>/<bridge>/<lock>/result``."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=128)
    ok: bool
    err: str | None = Field(default=None, max_length=64)
    msg: str | None = Field(default=None, max_length=200)
