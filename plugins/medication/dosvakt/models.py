"""Settings of one Dosvakt adapter instance (one organisation = one municipality)."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

MAX_BATCH = 100


class DosvaktSettings(BaseModel):
    """One instance per organisation at Dosvakt; the API key identifies that organisation.

    Give the key as its SHA-256 (``api_key_sha256``, preferred: the config file then
    holds nothing that opens the door) or in clear (``api_keys``). Several keys may be
    valid at once, so a key can be rotated without a gap.
    """

    model_config = ConfigDict(extra="forbid")

    api_key_sha256: list[str] = Field(
        default_factory=list, description="Hex SHA-256 of each accepted API key.")
    api_keys: list[SecretStr] = Field(
        default_factory=list, description="Accepted API keys in clear (prefer api_key_sha256).")
    path: str = Field(default="events", pattern=r"^[a-z0-9][a-z0-9/_-]{0,63}$",
                      description="Webhook path: POST /ingress/<instance>/<path>.")
    alive_interval_s: int = Field(
        default=300, ge=10, le=86_400,
        description="Expected I'm-alive interval until the vendor announces its own.")
    alive_grace_s: int = Field(
        default=60, ge=0, le=3_600,
        description="Extra wait after a missed I'm-alive before the link is reported down.")

    @field_validator("api_key_sha256")
    @classmethod
    def _hex(cls, values: list[str]) -> list[str]:
        for v in values:
            if len(v) != 64 or any(c not in "0123456789abcdefABCDEF" for c in v):
                raise ValueError("api_key_sha256 entries must be 64 hex digits")
        return [v.lower() for v in values]

    def digests(self) -> list[bytes]:
        return [bytes.fromhex(h) for h in self.api_key_sha256] + [
            hashlib.sha256(k.get_secret_value().encode()).digest() for k in self.api_keys]

    def accepts(self, key: str | None) -> bool:
        """Whether ``key`` is one of the organisation's keys (constant time per key)."""
        if not key:
            return False
        given = hashlib.sha256(key.encode()).digest()
        ok = False
        for digest in self.digests():
            ok |= hmac.compare_digest(given, digest)
        return ok
