"""Portvakt configuration and payload models."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl


class PortvaktSettings(BaseModel):
    """One Portvakt account (one municipality's locks at the vendor)."""

    model_config = ConfigDict(extra="forbid")

    api_url: HttpUrl = Field(description="Base URL of the Portvakt API, e.g. "
                                         "https://api.portvakt.example/")
    api_key: str = Field(min_length=8, description="Bearer key of the integration account.")
    webhook_secret: str = Field(min_length=16, description="Shared secret the cloud signs "
                                                           "webhooks with (HMAC-SHA256).")
    public_url: HttpUrl | None = Field(
        default=None, description="Navet's public base URL; when set, the adapter registers "
        "<public_url>/ingress/<instance>/events as the account's webhook.")
    tolerance_s: int = Field(default=300, ge=10, le=3600,
                             description="A webhook older or newer than this is refused.")
    poll_s: float = Field(default=60.0, gt=0, description="Link check and catch-up interval.")
    catchup_s: int = Field(default=86_400, ge=0,
                           description="At start, fetch events this far back (duplicates are "
                                       "harmless: ids are deterministic).")
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=60.0, gt=0)
    command_deadline_s: float = Field(default=15.0, gt=0,
                                      description="Retry a command this long, then give up.")
    down_after: int = Field(default=2, ge=1,
                            description="Consecutive failed calls before the link is down.")
    http_timeout_s: float = Field(default=10.0, gt=0)


class LockInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    model: str | None = Field(default=None, max_length=64)
    serial: str | None = Field(default=None, max_length=64)


class ActorInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    user_ref: str | None = Field(default=None, max_length=64)
    command_ref: str | None = Field(default=None, max_length=128)


class BatteryInfo(BaseModel):
    model_config = ConfigDict(extra="ignore")

    percent: int | None = Field(default=None, ge=0, le=100)
    low: bool | None = None


class WebhookEvent(BaseModel):
    """One access or status event, as a webhook body and as an item of the event feed.

    Unknown fields are ignored (the vendor adds fields over time); the ones we read
    are checked strictly.
    """

    model_config = ConfigDict(extra="ignore")

    event_id: str = Field(min_length=1, max_length=128)
    type: str
    occurred_at: AwareDatetime
    lock: LockInfo
    actor: ActorInfo | None = None
    reason: str | None = Field(default=None, max_length=64)
    battery: BatteryInfo | None = None
    tamper: dict[str, bool] | None = None


class LinkState(BaseModel):
    """What the adapter writes about its own link (transport ``link``)."""

    model_config = ConfigDict(extra="forbid")

    state: str = Field(pattern=r"^(up|down)$")
    reason: str = Field(max_length=200)
    since: datetime
