"""What the store hands back, and the engine a repository runs on.

Plain records shared by the engine (:mod:`.base`) and the repositories
(:mod:`.repos`), so that neither imports the other for its types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from gateway.sdk.sinks import Subscription as Subscription  # its home is the SDK

from ..model import EventBase
from ..security.pii import PiiCipher

T = TypeVar("T")

DbConnection = Any
"""A connection handed to :meth:`Store.read`/:meth:`Store.write` callbacks: ``execute(sql,
params)`` and ``executemany`` in Navet's SQL dialect; rows read by position or column name."""

NOT_FANNED_OUT = frozenset({"device.heartbeat"})


TABLES: tuple[tuple[str, str], ...] = (
    # (table, order) with referenced tables before the ones that refer to them
    ("tenants", "id"),
    ("residents", "tenant, id"),
    ("devices", "id"),
    ("plans", "tenant, id"),
    ("subscriptions", "id"),
    ("frames", "ref"),
    ("events", "seq"),
    ("alarms", "tenant, id"),
    ("dead_letters", "id"),
    ("outbox", "subscription, seq"),
    ("outbox_state", "subscription"),
    ("audit_log", "seq"),
    ("audit_anchor", "seq"),
    ("fhir_subscription_state", "id"),
    ("fhir_notifications", "subscription, number"),
    ("users", "subject"),
    ("sessions", "id"),
)
"""Every table of the schema (tests/core/test_store_copy.py fails if one is missing)."""
RUNTIME_TABLES: tuple[str, ...] = ("instances", "leases")
"""Tables of the running processes (scale-out), not of the data: a copy leaves them out."""


def iso(dt: datetime) -> str:
    return dt.isoformat()


class Engine(Protocol):
    """What a repository needs of the store engine (:class:`~.base.Store`): run a read on
    this thread's connection, or a job in the writer's next transaction."""

    label: str
    cipher: PiiCipher | None

    def read_sync(self, fn: Callable[[DbConnection], T]) -> T: ...

    def read(self, fn: Callable[[DbConnection], T]) -> Awaitable[T]: ...

    def write(self, fn: Callable[[DbConnection], Any],
              committed: Callable[[Any], T] | None = None) -> Awaitable[T]: ...

    def serialise(self, conn: DbConnection, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class AppendResult:
    accepted: tuple[str, ...]
    duplicates: tuple[str, ...]
    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    event: EventBase


@dataclass(frozen=True, slots=True)
class OutboxItem:
    subscription: str
    seq: int
    attempts: int
    event: EventBase
    enqueued: datetime | None = None  # when it became due, if not when the event was received


class RulesHook(Protocol):
    """What the store's writer calls to rule events inside the transaction that stores them
    (:class:`gateway.core.rules.engine.RulesRunner` is the one implementation).

    Every call comes on the writer's thread, inside a write job, where the rules' reads
    through the store (``read_sync``, ``rows``, ``get_event`` ...) see the batch's rows not
    yet committed. Rule state is a cache of what is committed: when a job or a batch that
    moved it is rolled back, the store says so and the hook reloads before its next use.
    """

    def prepare(self, conn: DbConnection) -> None:
        """Before the job stores anything: bring rule state up to what ``conn`` sees."""

    def derive(self, stored: Sequence[StoredEvent]) -> list[EventBase]:
        """The rules over events just stored, in seq order; what they derive."""

    def rolled_back(self) -> None:
        """What the rules did in the job or batch just rolled back never committed."""

    def committed(self, ruled: Sequence[StoredEvent], stored: Sequence[StoredEvent]) -> None:
        """After COMMIT, in commit order: ``ruled`` were ruled, ``stored`` are new rows."""
