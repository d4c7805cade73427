"""Settings of the camera adapters and the command they execute."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from gateway import TransportError


class _Actor(Protocol):
    id: str


class CameraCommand(Protocol):
    """What Navet's camera policy hands ``execute`` once it has allowed and audited a command
    (Navet's ``Command``, read by attribute).

    ``name`` is ``supervision.start`` or ``supervision.stop``; ``address`` is the
    camera's address at the vendor; ``requested_by.id`` the staff member (or
    ``navet`` for a stop Navet decided). ``args``: ``session`` (Navet's session id;
    the vendor echoes it, so both vendors report the same session), ``max_s`` (the
    longest the session may last) and, for a stop, ``reason``.
    """

    id: str
    name: str
    tenant: str
    device: str
    address: str
    requested_by: _Actor
    args: Mapping[str, Any]


def command_arg(command: CameraCommand, key: str) -> str:
    """A text argument of ``command`` (``session`` must be there), at most 128 characters."""
    value = command.args.get(key)
    if key == "session" and not value:
        raise TransportError(f"command {command.name} has no session")
    return str(value or "")[:128]


def command_max_s(command: CameraCommand) -> int:
    """The session's maximum length in seconds from ``command``'s arguments."""
    value = command.args.get("max_s")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TransportError(f"command {command.name} has no usable max_s")
    return value


class StartResult(BaseModel):
    """What a started session gives back: where the staff member looks, until when.

    ``url`` carries a single-use token. It goes to the staff member who asked and
    nowhere else: never into an event, a log line or the store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(repr=False)
    expires: datetime
    vendor_session: str | None = None

    # read like Navet's CommandResult by the command path
    accepted: bool = True
    reason: str = ""

    @property
    def vendor_ref(self) -> str | None:
        return self.vendor_session

    def __repr__(self) -> str:  # the token must not reach a log through a repr
        return f"StartResult(url=<hidden>, expires={self.expires.isoformat()})"

    __str__ = __repr__


class UgglanSettings(BaseModel):
    """One Ugglan cloud account (one municipality)."""

    model_config = ConfigDict(extra="forbid")

    api_url: HttpUrl = Field(
        description="Base URL of the Ugglan API, e.g. https://api.ugglan.example/v1")
    api_key: str = Field(min_length=8, repr=False, description="Bearer key of the account.")
    webhook_secret: str = Field(min_length=16, repr=False,
                                description="Shared secret Ugglan signs webhooks with.")
    callback_url: HttpUrl | None = Field(
        default=None,
        description="Where Ugglan posts events: Navet's public /ingress/<instance>/events URL. "
        "Default: derived from the gateway's HTTP address.",
    )
    register_webhook: bool = Field(
        default=True, description="Keep the callback registered at Ugglan (idempotent PUT)."
    )
    register_every_s: float = Field(default=600.0, ge=10)
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_tolerance_s: int = Field(
        default=300, ge=10, le=3600,
        description="Signed timestamps older or newer than this are refused (replay guard).",
    )


class VaktarenSettings(BaseModel):
    """One site of Vaktaren units on an MQTT broker."""

    model_config = ConfigDict(extra="forbid")

    base_topic: str = Field(default="vaktaren", min_length=1, pattern=r"^[^#+]+$")
    relay_url: HttpUrl = Field(
        description="Vaktaren's stream relay; viewers open <relay_url>/<unit>?t=<token>."
    )
    qos: int = Field(default=1, ge=0, le=1)
    ack_timeout_s: float = Field(default=10.0, gt=0, le=120)
    token_ttl_s: int = Field(
        default=30, ge=5, le=300,
        description="How long the single-use viewing token may wait to be opened.",
    )

