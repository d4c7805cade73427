"""What the FHIR facade uses of the running gateway, as types it owns.

The facade is a plugin over the SDK (``lint-imports`` holds it): it never imports
the core. The gateway hands it these services: to the REST routes as the
running gateway, to the subscription sinks through their ``SinkServices``. Both
satisfy :class:`FhirHost` structurally.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gateway.sdk.alarms import AlarmReader
from gateway.sdk.clock import Clock
from gateway.sdk.hookspecs import FhirResource
from gateway.sdk.model import EventBase
from gateway.sdk.outbound import OutboundPolicy
from gateway.sdk.sinks import SinkSubscription, Subscription

T = TypeVar("T")


class Row(Protocol):
    """A database row: by column name or position."""

    def __getitem__(self, key: str | int) -> Any: ...


class Cursor(Protocol):
    def fetchone(self) -> Any:
        """The next row (a :class:`Row`), or None."""
        ...

    def fetchall(self) -> list[Row]: ...


class Db(Protocol):
    """One connection of the store, inside a read or a write transaction."""

    def execute(self, sql: str, args: Sequence[Any] = ...) -> Cursor: ...


class Stored(Protocol):
    """An event as the store keeps it: its place in storage order and the event."""

    @property
    def seq(self) -> int: ...

    @property
    def event(self) -> EventBase: ...


class FhirStateStore(Protocol):
    """The facade's own two tables (``fhir_subscription_state`` and ``fhir_notifications``,
    schema 3), kept by the core's store: a Subscription's status and each event's number."""

    async def set_status(self, sub: str, tenant: str, status: str,
                         error: str | None) -> None: ...

    async def status(self, sub: str) -> tuple[str | None, str | None]:
        """(status, last error) of ``sub``; (None, None) when it has none."""
        ...

    def status_sync(self, sub: str) -> tuple[str | None, str | None]: ...

    async def number(self, sub: str, event: str) -> int:
        """The event's number in ``sub``, given now if it has none: the same on every retry."""
        ...

    async def count(self, sub: str) -> int: ...

    async def numbered(self, sub: str, since: int, until: int) -> list[tuple[str, int]]:
        """(event id, number) of the numbered events ``since`` .. ``until`` (inclusive)."""
        ...


class HasFhirState(Protocol):
    @property
    def fhir_state(self) -> FhirStateStore: ...


class FhirStore(Protocol):
    """The store's reads and transactions the facade uses (its own two tables included:
    ``fhir_subscription_state`` and ``fhir_notifications``, schema 3)."""

    def get_event(self, tenant: str, event_id: str) -> Stored | None: ...

    def query_events(self, tenant: str, *, types: Sequence[str] = ...,
                     resident: str | None = ..., device: str | None = ...,
                     after_seq: int | None = ..., limit: int = ...,
                     newest_first: bool = ...) -> Sequence[Stored]: ...

    def rows(self, table: str, tenant: str | None = ...) -> list[dict[str, Any]]:
        """Care configuration rows (``residents``, ``devices``) of a tenant."""
        ...

    def read_sync(self, fn: Callable[[Any], T]) -> T: ...

    def read(self, fn: Callable[[Any], T]) -> Awaitable[T]: ...

    def write(self, fn: Callable[[Any], T]) -> Awaitable[T]: ...

    @property
    def fhir_state(self) -> FhirStateStore: ...


class FhirPlugins(Protocol):
    def event_to_fhir(self, event: EventBase) -> FhirResource | None:
        """The ``navet_event_to_fhir`` hook: a plugin's own resource for ``event``."""
        ...


class ConsentView(Protocol):
    """A consent of the care configuration."""

    id: str
    resident: str
    purpose: Any
    given_by: str
    valid_from: datetime
    valid_to: datetime | None
    withdrawn: datetime | None
    legal_basis: str

    def valid_at(self, when: datetime) -> bool: ...


class FhirHost(Protocol):
    """Everything a :class:`gateway.fhir.FhirRepository` reads through."""

    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> FhirStore: ...

    @property
    def plugins(self) -> FhirPlugins: ...

    @property
    def alarm_reads(self) -> AlarmReader: ...

    def consents(self, tenant: str) -> Sequence[ConsentView]:
        """The tenant's consents (care configuration); empty without one."""
        ...


class BacklogLimits(Protocol):
    """``subscription_limits`` of the settings: what a websocket Subscription keeps."""

    websocket_backlog: int
    websocket_backlog_ttl_s: float


WEBSOCKET_BACKLOG = 500
"""Notifications kept for an unbound websocket Subscription when the host sets no limit."""
WEBSOCKET_BACKLOG_TTL_S = 3600.0


class FhirSinkServices(FhirHost, Protocol):
    """A FHIR subscription sink's services: the :class:`gateway.SinkServices` of its
    outbox subscription, with what :class:`FhirHost` reads through."""

    @property
    def subscription(self) -> SinkSubscription: ...

    @property
    def limits(self) -> BacklogLimits | None: ...


class _Environment(Protocol):
    @property
    def environment(self) -> str: ...


class SubscriptionStore(FhirStore, Protocol):
    @property
    def subscriptions(self) -> list[Subscription]: ...


class FhirSubscriptionHost(Protocol):
    """What the Subscription API (:mod:`gateway.fhir.subscriptions`) uses: the outbox's
    subscriptions and the sinks made for them."""

    @property
    def settings(self) -> _Environment: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def store(self) -> SubscriptionStore: ...

    @property
    def outbound(self) -> OutboundPolicy: ...

    @property
    def sinks(self) -> Mapping[str, Any]:
        """The running sinks by subscription id."""
        ...

    async def add_subscription(self, sub: Subscription) -> None:
        """Store ``sub`` and start its sink; raises ``SubscriptionLimitError`` past the
        tenant's quota and ``OutboundRefused`` for an endpoint the policy refuses."""
        ...
