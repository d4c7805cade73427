"""Gateway settings: a config file (YAML or JSON) overlaid by ``NAVET_*`` variables.

Environment variables win over the file. Nested keys use ``__``:
``NAVET_MQTT__PORT=1884``, ``NAVET_HTTP__HOST=0.0.0.0``. Outside
``environment: development`` unsafe defaults are refused at start.
"""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.errors import ConfigError, describe_invalid
from gateway.sdk.outbound import OutboundSettings
from gateway.transports.settings import MqttSettings

from .durations import Seconds, WholeSeconds
from .routing import TenantRouting
from .store import SQLITE_URL, is_postgres

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class HttpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class AdapterInstance(BaseModel):
    """One running adapter for one tenant, e.g. a municipality's Zigbee2MQTT bridge."""

    model_config = ConfigDict(extra="forbid")

    adapter: str
    tenant: str
    id: str | None = Field(default=None, description="Defaults to '<adapter>-<tenant>'.")
    settings: dict[str, Any] = Field(default_factory=dict)

    @property
    def instance_id(self) -> str:
        return self.id or f"{self.adapter}-{self.tenant}"


class SubscriptionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    tenant: str
    sink: str
    types: list[str] = Field(default_factory=lambda: ["*"])
    settings: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class AuthSettings(BaseModel):
    """Who may call the API (gateway/core/security/tokens.py, docs/security.md)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "local", "oidc"] = Field(
        default="off", description="off: development only, everyone may do everything; "
        "local: tokens signed by Navet (navet token create); oidc: tokens from an identity "
        "provider, verified against its JWKS.")
    issuer: str = "navet"
    audience: str = "navet-api"
    jwks_url: str | None = Field(default=None, description="oidc: the provider's JWKS URL.")
    algorithms: list[str] = Field(default_factory=lambda: ["EdDSA"],
                                  description="Accepted signature algorithms (oidc: RS256...).")
    tenants_claim: str = "navet_tenants"
    roles_claim: str = "navet_roles"
    token_ttl_s: WholeSeconds = Field(
        default=8 * 3600, ge=60, le=366 * 24 * 3600,
        description="Lifetime of tokens navet token create issues: seconds or 8h, 30d.")
    session_ttl_s: WholeSeconds = Field(
        default=10 * 3600, ge=60, le=7 * 24 * 3600,
        description="A console sign-in lasts this long (one shift by default), then the "
        "person signs in again (seconds or 10h). Sign-out ends it at once.")
    client_id: str | None = Field(
        default=None, description="oidc: Navet's client id at the identity provider, for "
        "people signing in to the console (authorization-code flow with PKCE).")
    client_secret: SecretStr | None = Field(
        default=None, description="oidc: the client's secret, when the provider gave one "
        "(a confidential client); without it Navet is a public client using PKCE alone.")
    discovery_url: str | None = Field(
        default=None, description="oidc: the provider's metadata document; default "
        "<issuer>/.well-known/openid-configuration.")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile"],
                              description="oidc: scopes asked for at sign-in.")
    name_claim: str = Field(default="name", description="oidc: the claim with the person's "
                            "display name (the subject is shown when it is missing).")

    @model_validator(mode="after")
    def _oidc_needs_jwks(self) -> AuthSettings:
        if self.mode == "oidc" and not self.jwks_url:
            raise ValueError("auth.mode oidc needs auth.jwks_url")
        return self


class ConsoleSettings(BaseModel):
    """The people's console (docs/console.md)."""

    model_config = ConfigDict(extra="forbid")

    map_tiles: str | None = Field(
        default=None, max_length=500, pattern=r"^(https?://[^/\s]+)?/\S*\{z\}\S*$",
        description="Map tiles under a GPS alarm's drawing: a URL template with {z}, {x} and "
        "{y} (Web Mercator, 256 px), e.g. the municipality's own tile server, or a path on "
        "Navet's own site. Off by default: the console then draws fences and positions alone, "
        "with nothing fetched from elsewhere. The tiles' origin is the only one the alarm "
        "queue's page may load images from.")
    map_attribution: str = Field(
        default="", max_length=200,
        description="The tile source's attribution, shown on the map with its tiles.")

    @field_validator("map_tiles")
    @classmethod
    def _tiles_template(cls, value: str | None) -> str | None:
        if value is not None and not all(f"{{{k}}}" in value for k in "zxy"):
            raise ValueError("console.map_tiles needs {z}, {x} and {y} in it, e.g. "
                             "https://tiles.example/{z}/{x}/{y}.png")
        return value


class PrivacySettings(BaseModel):
    """Personal data at rest and how long it is kept (gateway/core/privacy.py)."""

    model_config = ConfigDict(extra="forbid")

    data_key_file: Path | None = Field(
        default=None, description="AES-256 data keys for personal identifiers; default "
        "<data_dir>/keys/data-keys.json, created 0600 on first use.")
    retention_days: int = Field(
        default=0, ge=0, description="Old name of retention.events_days (still read).")
    frames_retention_days: int = Field(
        default=30, ge=0, description="Old name of retention.frames_days and "
        "retention.dead_letters_days (still read).")


class SubscriptionLimits(BaseModel):
    """Bounds on what API callers may create (docs/operators.md, "Subscription limits")."""

    model_config = ConfigDict(extra="forbid")

    per_tenant: int = Field(
        default=50, ge=0, description="Subscriptions one tenant may have (webhooks, FHIR "
        "Subscriptions, configured ones included); creating one more is refused with 409.")
    websocket_backlog: int = Field(
        default=500, ge=1, le=100_000, description="Notifications a FHIR websocket "
        "Subscription keeps while no client is bound; past it the oldest is dropped "
        "(counted; $events still has it).")
    websocket_backlog_ttl_s: Seconds = Field(
        default=3600.0, gt=0, description="How long such a notification waits for a client "
        "before it is dropped (counted as expired).")

class AuditSettings(BaseModel):
    """The audit log's key and checkpoints (gateway/core/audit_anchor.py, docs/security.md)."""

    model_config = ConfigDict(extra="forbid")

    key_file: Path | None = Field(
        default=None, description="HMAC keys that key the audit chain; default "
        "<data_dir>/keys/audit-keys.json, created 0600 on first use. Not in the database: "
        "whoever can write the database cannot write entries that verify.")
    checkpoint_file: Path | None = Field(
        default=None, description="Append-only file of signed checkpoints of the chain's "
        "head; default <data_dir>/audit/checkpoints.jsonl. Put it where a database "
        "administrator cannot write: it is what catches a cut end.")
    checkpoint_interval_s: Seconds = Field(
        default=60.0, gt=0, description="A checkpoint this often while the log grows, and one "
        "at start and at stop.")
    retention_days: int = Field(
        default=0, ge=0, description="Old name of retention.audit_days (still read; at "
        "least five years).")


AUDIT_MIN_DAYS = 5 * 365 + 1
"""The audit log is an access log: kept at least five years (HSLF-FS 2016:40 4 kap. 9 §)."""


def check_audit_retention(days: int, setting: str | None) -> None:
    """Refuse an audit retention shorter than five years, naming the setting (None: pydantic
    names it, the field's own check)."""
    if 0 < days < AUDIT_MIN_DAYS:
        raise ValueError(
            f"{setting + ' is ' if setting else ''}{days} days, shorter than the five years "
            f"({AUDIT_MIN_DAYS} days) an "
            "access log must be kept (HSLF-FS 2016:40 4 kap. 9 §, docs/operators.md "
            f"\"Retention\"); set 0 to keep it all, or at least {AUDIT_MIN_DAYS}")


class RetentionSettings(BaseModel):
    """How long each kind of stored row is kept (gateway/core/retention.py,
    docs/operators.md "Retention"). 0 keeps that kind for ever."""

    model_config = ConfigDict(extra="forbid")

    frames_days: int = Field(
        default=30, ge=0, description="Raw frames (kept for audit and replay); a frame a dead "
        "letter still refers to stays with it.")
    dead_letters_days: int = Field(
        default=30, ge=0, description="Frames the adapters refused (dead letters).")
    heartbeats_days: int = Field(
        default=7, ge=0, description="Liveness events (device.heartbeat, device.online, "
        "device.offline): last-seen is kept on the device, the history only this long.")
    events_days: int = Field(
        default=0, ge=0, description="Every other event (alarms, locks, doses, ...). Events "
        "still waiting for a consumer and every event of an open alarm are kept.")
    outbox_days: int = Field(
        default=30, ge=0, description="Outbox rows a delivery gave up on (dead), counted from "
        "the last attempt; delivered rows go at delivery.")
    sessions_days: int = Field(
        default=1, ge=0, description="Console sessions, counted from when they expired.")
    audit_days: int = Field(
        default=0, ge=0, description="The audit log, pruned from a signed anchor: 0 (keep it "
        f"all) or at least {AUDIT_MIN_DAYS} (five years).")
    prune_interval_s: WholeSeconds = Field(
        default=24 * 3600, ge=0, description="navet serve prunes at start and then this often "
        "(seconds or 24h); 0: only navet store prune does.")
    chunk_rows: int = Field(
        default=500, ge=100, le=100_000, description="Rows deleted per transaction, so a "
        "prune never holds the writer for long.")
    partitions_ahead: int = Field(
        default=2, ge=1, le=24, description="PostgreSQL: monthly partitions made this many "
        "months ahead.")

    @field_validator("audit_days")
    @classmethod
    def _audit_five_years(cls, value: int) -> int:
        check_audit_retention(value, None)  # pydantic puts retention.audit_days before it
        return value


class HeartbeatSettings(BaseModel):
    """The heartbeat fast path (gateway/core/liveness.py, docs/operators.md "Heartbeats")."""

    model_config = ConfigDict(extra="forbid")

    store: bool = Field(
        default=False, description="Store every heartbeat as a frame and event row. By "
        "default a heartbeat that tells nothing new (a known device, the same interval, no "
        "silence to end) only moves the device's last-seen time, kept in memory and written "
        "to devices.last_seen every flush_interval_s.")
    flush_interval_s: Seconds = Field(
        default=60.0, gt=0, le=3600, description="How often last-seen times heard are "
        "written to the database. A crash loses at most this much of them; supervision "
        "gives every device one heartbeat interval from start, so no false silent alarm.")


class PluginSettings(BaseModel):
    """Which plugins may load: signatures and trust (docs/signing.md), reports, catalogue."""

    model_config = ConfigDict(extra="forbid")

    require_signed: bool = Field(
        default=False, description="Load only plugins whose installed files a key in "
        "plugins.trust has signed; others are refused (status refused, with the reason).")
    trust: Path | None = Field(
        default=None, description="Directory of trusted Ed25519 public keys (*.pub).")
    signatures: list[Path] = Field(
        default_factory=list, description="Directories of signed plugin statements "
        "(<plugin>.json and .json.sig, written by navet sign --plugin); the built-in "
        "contracts/signatures is consulted after them.")
    reports: Path | None = Field(
        default=None, description="The deployment's own conformance reports (navet "
        "conformance --report DIR), read by the catalogue beside contracts/conformance.")
    catalogue: list[Path] = Field(
        default_factory=list, description="Index files of installable adapters the "
        "catalogue lists beside the built-in index (contracts/catalogue.json).")

    @model_validator(mode="after")
    def _trust_when_required(self) -> PluginSettings:
        if self.require_signed and self.trust is None:
            raise ValueError("plugins.require_signed needs plugins.trust: a directory of "
                             "the public keys (*.pub) whose signatures you accept")
        return self


RETENTION_ALIASES: tuple[tuple[str, str, str], ...] = (
    ("privacy", "retention_days", "events_days"),
    ("privacy", "frames_retention_days", "frames_days"),
    ("privacy", "frames_retention_days", "dead_letters_days"),
    ("audit", "retention_days", "audit_days"),
)
"""(section, old setting, retention.<new>): the settings from before per-kind retention."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NAVET_", env_nested_delimiter="__", extra="forbid"
    )

    environment: Literal["development", "production"] = "development"
    instance: str | None = Field(
        default=None, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="This process's name among several Navet instances on one PostgreSQL "
        "schema and one broker (scale-out): unique per running process, it names the "
        "process's MQTT client ids and its registration in the database. Default: "
        "<host>-<pid> with mqtt.share_group, else none (one process, MQTT client id "
        "mqtt.client_id as it is).")
    data_dir: Path = Path("./navet-data")
    database: str = Field(default="", description=(
        "Where Navet stores everything: a SQLite file (default <data_dir>/navet.db) or a URL, "
        "sqlite:///path or postgresql://user:password@host:5432/db?schema=navet "
        "(docs/operators.md)."))
    db_synchronous: Literal["FULL", "NORMAL", "OFF"] = Field(default="FULL", description=(
        "SQLite: FULL survives power loss; NORMAL is faster and may lose the last commits "
        "at a power cut; OFF is for tests only (refused in production)."))
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    outbound: OutboundSettings = Field(
        default_factory=OutboundSettings, description="Where Navet may connect to: "
        "loopback and private destinations only when allowed here (docs/security.md).")
    subscription_limits: SubscriptionLimits = Field(default_factory=SubscriptionLimits)

    audit: AuditSettings = Field(default_factory=AuditSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    heartbeats: HeartbeatSettings = Field(default_factory=HeartbeatSettings)
    disabled_plugins: list[str] = Field(default_factory=list)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    adapters: list[AdapterInstance] = Field(default_factory=list)
    remote_adapters: list[str | dict[str, Any]] = Field(
        default_factory=list, description="Out-of-process adapters this deployment accepts, "
        "each its manifest: the path of the vendor's manifest JSON or the manifest inline "
        "(docs/adapters/out-of-process.md). Each becomes an adapter of that name.")
    subscriptions: list[SubscriptionSettings] = Field(default_factory=list)
    routing: list[TenantRouting] = Field(
        default_factory=list, description="Per tenant: which subscription gets which events "
        "when, with fallbacks (gateway/core/routing.py, docs/operators.md).")
    care_config: list[Path] = Field(
        default_factory=list, description="Files with tenants, residents, devices and plans."
    )
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or "
                           "CRITICAL, in any case.")

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; choose one of "
                             f"{', '.join(LOG_LEVELS)}")
        return level

    @model_validator(mode="after")
    def _retention_aliases(self) -> Settings:
        """The settings from before ``retention:`` keep working: each fills the new one it
        became unless that is set too (then they must agree)."""
        given = self.retention.model_fields_set
        update: dict[str, int] = {}
        for section, old, new in RETENTION_ALIASES:
            owner = getattr(self, section)
            if old not in owner.model_fields_set:
                continue
            value = getattr(owner, old)
            if new in given and getattr(self.retention, new) != value:
                raise ValueError(f"{section}.{old} ({value}) and retention.{new} "
                                 f"({getattr(self.retention, new)}) disagree; keep "
                                 f"retention.{new} alone")
            if section == "audit":
                check_audit_retention(value, f"{section}.{old}")
            update.setdefault(new, value)
        if update:
            self.retention = self.retention.model_copy(update=update)
        return self

    @model_validator(mode="after")
    def _scale_out_on_postgres(self) -> Settings:
        if self.mqtt.share_group is not None and not self.database_is_url:
            raise ValueError("mqtt.share_group (several instances) needs a PostgreSQL "
                             "database that every instance uses (docs/deployment.md); "
                             "SQLite is one process")
        return self

    @model_validator(mode="after")
    def _safe_outside_development(self) -> Settings:
        if self.environment == "production":
            if self.db_synchronous == "OFF":
                raise ValueError("db_synchronous OFF is for tests: a commit is not on disk "
                                 "when a device is acknowledged; use FULL or NORMAL")
            if self.mqtt.mode == "memory":
                raise ValueError("mqtt.mode 'memory' is for tests; use embedded or external")
            if self.auth.mode == "off":
                raise ValueError("production refuses an API without authentication: set "
                                 "auth.mode to local or oidc (docs/security.md)")
            if self.mqtt.mode == "external" and not (self.mqtt.username or self.mqtt.tls_cert):
                raise ValueError(
                    "production refuses an anonymous MQTT connection: set mqtt.username/"
                    "password or mqtt.tls_cert/tls_key"
                )
        return self

    @property
    def instance_name(self) -> str:
        """This process's instance name (``instance``, or ``<host>-<pid>``)."""
        if self.instance:
            return self.instance
        host = socket.gethostname().split(".")[0] or "navet"
        return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{host}-{os.getpid()}")

    @property
    def scale_out(self) -> bool:
        """Several instances may share the database and the broker (``mqtt.share_group``)."""
        return self.mqtt.share_group is not None

    @property
    def mqtt_client_id(self) -> str:
        """The MQTT client id of this process: ``mqtt.client_id``, with the instance name
        appended when there is one, so two instances never take over each other's session
        (the broker disconnects the older client of two with one id)."""
        if self.instance or self.scale_out:
            return f"{self.mqtt.client_id}.{self.instance_name}"
        return self.mqtt.client_id

    @property
    def database_is_url(self) -> bool:
        """True for PostgreSQL; SQLite (a path or ``sqlite:///path``) has a file."""
        return is_postgres(self.database)

    @property
    def database_path(self) -> Path:
        """The SQLite file (only meaningful when the database is not PostgreSQL)."""
        if self.database.startswith(SQLITE_URL):
            return Path(self.database[len(SQLITE_URL):])
        return Path(self.database) if self.database else self.data_dir / "navet.db"

    @property
    def database_target(self) -> str:
        """What :func:`gateway.core.store.make_store` opens: a SQLite path or a URL."""
        return self.database if self.database_is_url else str(self.database_path)

    @property
    def data_key_path(self) -> Path:
        """The data key file (personal numbers, subscription secrets)."""
        return self.privacy.data_key_file or self.data_dir / "keys" / "data-keys.json"

    @property
    def audit_key_path(self) -> Path:
        return self.audit.key_file or self.data_dir / "keys" / "audit-keys.json"

    @property
    def audit_checkpoint_path(self) -> Path:
        return self.audit.checkpoint_file or self.data_dir / "audit" / "checkpoints.jsonl"

    def existing_database(self) -> str:
        """:attr:`database_target`, for tools that must not create an empty one.

        :raises ConfigError: the SQLite file does not exist.
        """
        if not self.database_is_url and not self.database_path.exists():
            raise ConfigError(f"no database at {self.database_path} (give the gateway's "
                              f"settings file with --config, or --database where offered)")
        return self.database_target


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from a YAML/JSON file (optional), then environment, then overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"cannot read config file {file}: {err}") from err
        try:
            loaded = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as err:
            raise ConfigError(f"config file {file} is not valid YAML/JSON: {err}") from err
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {file} must hold a mapping at the top")
        data = loaded.get("gateway", loaded) if "gateway" in loaded else loaded
        base = file.parent
        data["care_config"] = [str(base / p) for p in data.get("care_config", [])]
    data.update(overrides)
    try:
        return _FileFirstSettings(**data)
    except Exception as err:  # pydantic's ValidationError; pydantic-settings' SettingsError
        where = f" in {path}" if path is not None else ""
        raise ConfigError(f"invalid settings{where}: {describe_invalid(err)}") from err


class _FileFirstSettings(Settings):
    """Settings where environment variables override values from the file."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,  # type: ignore[no-untyped-def,override]
                                   dotenv_settings, file_secret_settings):
        return (env_settings, init_settings, file_secret_settings)
