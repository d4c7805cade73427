"""Settings of a DC-09 receiver instance: where it listens, which accounts it serves."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from gateway import DeviceKind, ListenerSettings

from .const import DEFAULT_FUTURE_S, DEFAULT_PAST_S, MAX_FRAME_BYTES


class AccountSettings(BaseModel):
    """One transmitter account (``#acct``), with its AES key when it encrypts.

    ``key_encoding`` exists because implementations disagree (reference
    §2.1.3): ``hex`` reads ``key`` as 32/48/64 hex digits, ``ascii`` uses the
    16/24/32 characters themselves as the key bytes (pysiaalarm's reading).
    An account with a key must encrypt: its clear messages are refused. An
    account without one authenticates nothing: anyone who knows its number can
    send alarms and restorals for it. Production refuses such an account unless
    it says ``allow_clear: true``, and every start logs a warning for each.
    """

    model_config = ConfigDict(extra="forbid")

    account: str = Field(pattern=r"^[0-9A-Fa-f]{3,16}$")
    key: str | None = Field(default=None, repr=False)
    next_key: str | None = Field(
        default=None, repr=False,
        description="Key rotation without downtime: while set, frames encrypted with either "
        "key are accepted (and answered with the key they came with). Move it to 'key' once "
        "every transmitter of the account uses it.")
    key_encoding: Literal["hex", "ascii"] = "hex"
    allow_clear: bool = Field(
        default=False,
        description="Accept this account without a key in production (a transmitter that "
        "cannot encrypt). Anyone who knows the account number can then send alarms for it.")
    tenant: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="Tenant of this account when one listener serves several; "
        "defaults to the instance's tenant.",
    )
    device_kind: Literal[DeviceKind.SOCIAL_ALARM, DeviceKind.ALARM_PANEL] = (
        DeviceKind.SOCIAL_ALARM
    )

    @field_validator("account")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _key_size(self) -> AccountSettings:
        self.keys_bytes()
        if self.next_key is not None and self.key is None:
            raise ValueError(f"account {self.account}: next_key needs a current key")
        if self.allow_clear and self.key is not None:
            raise ValueError(f"account {self.account}: allow_clear is for an account without "
                             "a key; this one has a key and must encrypt")
        return self

    @property
    def clear(self) -> bool:
        """True when this account sends in clear (it has no key)."""
        return self.key is None

    def key_bytes(self) -> bytes | None:
        """The AES key, or None when this account sends in clear."""
        return self._decode_key(self.key, "key")

    def keys_bytes(self) -> list[bytes]:
        """Every key a frame of this account may be encrypted with (current, then next)."""
        out = [self._decode_key(self.key, "key"), self._decode_key(self.next_key, "next_key")]
        return [k for k in out if k is not None]

    def _decode_key(self, key: str | None, name: str) -> bytes | None:
        if key is None:
            return None
        if self.key_encoding == "hex":
            try:
                raw = bytes.fromhex(key)
            except ValueError:
                raise ValueError(f"account {self.account}: {name} is not hex") from None
        else:
            raw = key.encode("ascii", "strict")
        if len(raw) not in (16, 24, 32):
            raise ValueError(
                f"account {self.account}: AES key must be 16, 24 or 32 bytes "
                f"(AES-128/192/256), got {len(raw)} ({self.key_encoding})"
            )
        return raw


class TimestampWindow(BaseModel):
    """How far a message's timestamp may be from our clock before we NAK it."""

    model_config = ConfigDict(extra="forbid")

    past_s: int = Field(default=DEFAULT_PAST_S, ge=0)
    future_s: int = Field(default=DEFAULT_FUTURE_S, ge=0)


class Dc09Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="0.0.0.0", description="Address to listen on.")
    tcp_port: int | None = Field(default=None, ge=0, le=65535, description="0 = any free port.")
    udp_port: int | None = Field(default=None, ge=0, le=65535, description="0 = any free port.")
    accounts: list[AccountSettings] = Field(default_factory=list)
    timestamp_window: TimestampWindow = Field(default_factory=TimestampWindow)
    max_frame_bytes: int = Field(default=MAX_FRAME_BYTES, ge=64, le=MAX_FRAME_BYTES)
    read_timeout_s: float = Field(
        default=30.0, gt=0,
        description="A TCP peer that sends no complete frame for this long is disconnected.",
    )
    max_connections: int = Field(default=256, ge=1, description="TCP connections at once.")
    listener: ListenerSettings = Field(
        default_factory=ListenerSettings,
        description="Admission, fair UDP intake, PROXY protocol and refusal reports "
        "(docs/protocols/dc09.md, Listener protection).")

    _by_number: dict[str, AccountSettings] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Dc09Settings:
        if self.tcp_port is None and self.udp_port is None:
            raise ValueError("set tcp_port and/or udp_port (DC-09 defines no default port)")
        for acct in self.accounts:
            if acct.account in self._by_number:
                raise ValueError(f"account {acct.account} is listed twice")
            self._by_number[acct.account] = acct
        return self

    def account(self, number: str) -> AccountSettings | None:
        return self._by_number.get(number.upper())

    def clear_accounts(self) -> list[AccountSettings]:
        """The accounts without a key, in the order configured."""
        return [a for a in self.accounts if a.clear]
