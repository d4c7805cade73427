"""Exceptions raised by the Navet gateway and its plugins.

The tree is small on purpose; every boundary converts foreign errors into one
of these with ``raise X(...) from err`` and a message that names the plugin,
device and topic involved::

    NavetError
    ├── ConfigError              bad settings or municipality configuration
    │   ├── ItemNotFoundError, ItemExistsError, ItemInUseError, ItemInvalidError
    │   │                            one configuration item (gateway.core.care.items)
    │   └── AuditKeyMissing          the audit log's key is not there (core.audit_verify)
    ├── PluginError              a plugin could not be loaded or registered
    │   └── DuplicateAdapterError    two adapters claim the same name
    ├── PayloadError             an adapter could not decode a raw frame (plugins subclass it)
    ├── ContractError            a decoded event breaks contract v1
    ├── StoreError               the durable store refused a write
    │   ├── StoreUnavailableError    disk full, read-only, connection lost
    │   └── SchemaTooNewError        the database was migrated by a newer Navet
    │                                    (core.store.version)
    ├── TransportError           MQTT, HTTP or socket I/O failed
    │   └── OutboundRefused          the outbound policy refuses a destination (also a
    │                                ConnectionError, so socket code fails over as usual)
    ├── SubscriptionLimitError   a tenant's subscription quota is used up
    ├── TransitionError          an alarm command does not fit the alarm's current state
    ├── UnknownAdapterError      no adapter registered under that name
    ├── UnknownAlarmError        no alarm with that id in that tenant
    ├── UnknownCommandError      no command of that name for that device (core.commands)
    ├── CameraUnavailableError   a camera check cannot start (core.policy.cameras)
    ├── UnknownSessionError      no camera session with that id (core.policy.cameras)
    ├── AuditError               the audit log could not be written (core.audit)
    ├── AuthError                a token or sign-in is not valid (core.security.tokens)
    │   ├── NoRoleError              valid, but without the role the call needs
    │   └── TenantForbiddenError     valid, but not for that tenant
    ├── UserError                a console account cannot be made or changed
    │                                (core.accounts)
    ├── DecryptionError          sealed personal data cannot be opened (core.security.pii)
    ├── SignatureError           a signature or a signed file does not hold
    │                                (core.security.signing)
    ├── FhirValidationError      a resource fails FHIR R5 validation (gateway.fhir.checks)
    └── PeriodError              a follow-up period is not valid (gateway.followup.period)

Errors defined elsewhere subclass one of these here; ``tests/test_errors.py``
checks that every subclass in the code base is drawn above.
"""

from __future__ import annotations


class NavetError(Exception):
    """Base class of every error Navet raises on purpose."""


class ConfigError(NavetError):
    """Settings or municipality configuration are invalid."""


class PluginError(NavetError):
    """A plugin could not be loaded, validated or registered."""


class DuplicateAdapterError(PluginError):
    """Two adapters were registered under the same name."""


class UnknownAdapterError(NavetError):
    """No adapter is registered under the requested name."""


class PayloadError(NavetError):
    """An adapter could not turn a raw frame into events.

    ``decode`` raises exactly this (never anything else) so the host can keep
    the frame in the dead-letter store with a reason a person can act on.
    """

    def __init__(self, reason: str, *, adapter: str = "", device: str | None = None) -> None:
        self.reason = reason
        self.adapter = adapter
        self.device = device
        where = adapter or "adapter"
        if device:
            where += f", device {device}"
        super().__init__(f"{where}: {reason}")


class ContractError(NavetError):
    """A decoded event does not satisfy the contract."""


class StoreError(NavetError):
    """The durable store refused an operation."""


class StoreUnavailableError(StoreError):
    """The store cannot write at all (disk full, read-only, connection lost)."""


class TransportError(NavetError):
    """A transport (MQTT, HTTP, socket) failed.

    A sink raising it asks the outbox to try again later. ``retry_after`` (seconds)
    is the earliest retry the peer asked for (HTTP ``Retry-After``); ``permanent``
    says retrying cannot help (the peer refused the event), so the outbox keeps the
    delivery as dead at once instead of backing off.
    """

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(message)


class OutboundRefused(TransportError, ConnectionError):
    """Navet's outbound policy refuses to connect to a destination.

    Raised when a subscription is created (the API answers 4xx with the message)
    and again when a connection is opened, after DNS resolution. It is a
    :class:`TransportError` (the outbox retries: DNS may change back) and a
    ``ConnectionError`` (socket code that fails over to the next receiver on a
    refused connection does so here too). ``destination`` is what was asked for
    (``host:port``), ``reason`` why it is refused, in words.
    """

    def __init__(self, destination: str, reason: str) -> None:
        self.destination = destination
        self.reason = reason
        super().__init__(f"outbound policy refuses {destination}: {reason}")

    def __reduce__(self) -> tuple[type[OutboundRefused], tuple[str, str]]:
        return (type(self), (self.destination, self.reason))


class SubscriptionLimitError(NavetError):
    """A tenant already has as many subscriptions as ``subscription_limits`` allows."""


class TransitionError(NavetError):
    """An alarm command does not fit the alarm's current state (stale or illegal).

    ``current`` is the state the alarm is in now, so a caller (the operator API
    answers 409) can show what happened instead.
    """

    def __init__(self, message: str, *, alarm: str, current: str) -> None:
        self.alarm = alarm
        self.current = current
        super().__init__(message)


class UnknownAlarmError(NavetError):
    """No alarm with that id exists in that tenant."""


def describe_invalid(err: Exception, *, limit: int = 8) -> str:
    """A pydantic ``ValidationError`` as a person reads it, on one line.

    Each problem as ``field.path: message`` (``tenants[0].name: field required``), joined by
    ``;`` — no model names, input dumps or documentation links. Anything else: ``str(err)``.
    """
    errors = getattr(err, "errors", None)
    if not callable(errors):
        return str(err)
    try:
        items = list(errors())
    except Exception:  # not a pydantic error after all
        return str(err)
    parts = []
    for item in items[:limit]:
        path = ""
        for key in item.get("loc", ()):
            path += f"[{key}]" if isinstance(key, int) else (f".{key}" if path else str(key))
        msg = str(item.get("msg", "invalid"))
        for prefix in ("Value error, ", "Assertion failed, "):
            msg = msg.removeprefix(prefix)
        msg = msg[:1].lower() + msg[1:] if msg[:2] != msg[:2].upper() else msg
        parts.append(f"{path}: {msg}" if path else msg)
    if len(items) > limit:
        parts.append(f"and {len(items) - limit} more")
    return "; ".join(parts) or str(err)
