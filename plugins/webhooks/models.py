"""Settings of one webhook subscription (``subscriptions[].settings`` with ``sink: webhook``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from .const import (
    LOOPBACK_HOSTS,
    MAX_KEY_BYTES,
    MIN_KEY_BYTES,
    MIN_SECRET_LENGTH,
    RESERVED_HEADERS,
    WHSEC_PREFIX,
)
from .signing import secret_key

GENERATE = ("python3 -c 'import base64, secrets; print(\"whsec_\" + "
            "base64.b64encode(secrets.token_bytes(32)).decode())'")


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: AnyHttpUrl = Field(description="Where events are POSTed. https, except to loopback.")
    secret: SecretStr = Field(
        description="Current signing secret: 'whsec_' and the base64 of 24 to 64 random bytes "
        "(Standard Webhooks), or an older free-form secret of at least 24 characters.")
    next_secret: SecretStr | None = Field(
        default=None,
        description="The secret being rotated in: while set, every request is signed with "
        "both, so the consumer can switch at any moment.",
    )
    legacy_signature: bool = Field(
        default=True, description="Also send the Navet-Signature header of contract 1.0 "
        "beside the Standard Webhooks headers, for consumers that still verify it "
        "(contracts/webhooks.md, section 2.2). Turn off once the consumer verifies "
        "webhook-signature.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Extra request headers, e.g. an Authorization for the consumer's API "
        "gateway. They cannot replace the headers Navet sets.",
    )
    residents: list[str] | None = Field(
        default=None,
        description="Deliver only events of these residents (pseudonyms); null for all.",
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Per request.")
    concurrency: int = Field(
        default=4, ge=1, le=32,
        description="Requests in flight at once, each for a different resident (lane); one "
        "resident's events are always sent one after the other.",
    )
    horizon: timedelta = Field(
        default=timedelta(days=3),
        description="How long an event is retried before it becomes a dead letter "
        "(ISO 8601 duration such as P3D or PT12H, or seconds).",
    )
    backoff_base_s: float = Field(default=1.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=300.0, gt=0, le=86400)
    tls_ca: str | None = Field(
        default=None, description="PEM file of the CA(s) to trust for the consumer's server "
        "certificate, when it is not publicly trusted (a municipality's own CA).",
    )
    tls_cert: str | None = Field(
        default=None, description="PEM client certificate, when the consumer requires mutual TLS."
    )
    tls_key: str | None = Field(default=None, description="Its private key (PEM), if separate.")
    allow_http: bool = Field(
        default=False, description="Allow plain http to a host other than loopback (never "
        "in production: events are personal data, even pseudonymised)."
    )

    @field_validator("secret", "next_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        secret = value.get_secret_value()
        if secret.startswith(WHSEC_PREFIX):
            try:
                key = secret_key(secret)
            except ValueError as err:
                raise ValueError(f"{err} (generate one with: {GENERATE})") from None
            if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
                raise ValueError(f"a whsec_ secret must hold {MIN_KEY_BYTES} to {MAX_KEY_BYTES}"
                                 f" bytes, this one holds {len(key)} (generate one with: "
                                 f"{GENERATE})")
        elif len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"a signing secret must be at least {MIN_SECRET_LENGTH} characters"
                             f" (generate one with: {GENERATE})")
        return value

    @field_validator("headers")
    @classmethod
    def _not_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(h for h in value if h.lower() in RESERVED_HEADERS)
        if taken:
            raise ValueError(f"headers {taken} are set by Navet and cannot be configured")
        return value

    @model_validator(mode="after")
    def _safe(self) -> WebhookSettings:
        if self.url.scheme == "http" and not self.allow_http \
                and (self.url.host or "") not in LOOPBACK_HOSTS:
            raise ValueError(f"url must use https (plain http only to loopback, or with "
                             f"allow_http: true); got http://{self.url.host}")
        if self.url.username or self.url.password:
            raise ValueError("url must not carry credentials; use headers or the signature")
        for name in ("tls_ca", "tls_cert", "tls_key"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: no such file {path}")
        if self.tls_key is not None and self.tls_cert is None:
            raise ValueError("tls_key needs tls_cert")
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_max_s must be at least backoff_base_s")
        if self.horizon <= timedelta(0):
            raise ValueError("horizon must be positive")
        if self.next_secret is not None and \
                self.next_secret.get_secret_value() == self.secret.get_secret_value():
            raise ValueError("next_secret equals secret; drop it once the rotation is done")
        return self

    @property
    def secrets(self) -> list[str]:
        """The signing secrets in header order: current, then the one being rotated in."""
        out = [self.secret.get_secret_value()]
        if self.next_secret is not None:
            out.append(self.next_secret.get_secret_value())
        return out

    @property
    def display_url(self) -> str:
        """The URL without query or fragment (they may hold tokens), for logs and the API."""
        default = 443 if self.url.scheme == "https" else 80
        port = f":{self.url.port}" if self.url.port and self.url.port != default else ""
        return f"{self.url.scheme}://{self.url.host}{port}{self.url.path or '/'}"
