"""What the store hands back, and the engine a repository runs on.

Plain records shared by the engine (:mod:`.base`) and the repositories
(:mod:`.repos`), so that neither imports the other for its types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ..model import EventBase
from ..security.pii import PiiCipher

T = TypeVar("T")

DbConnection = Any
"""A connection handed to :meth:`Store.read`/:meth:`Store.write` callbacks: ``execute(sql,
params)`` and ``executemany`` in Navet's SQL dialect; rows read by position or column name."""

NOT_FANNED_OUT = frozenset({"device.heartbeat"})


def iso(dt: datetime) -> str:
    return dt.isoformat()


class Engine(Protocol):
    """What a repository needs of the store engine (:class:`~.base.Store`): run a read on
    this thread's connection, or a job in the writer's next transaction."""

    label: str
    cipher: PiiCipher | None

    def read_sync(self, fn: Callable[[DbConnection], T]) -> T: ...

    def read(self, fn: Callable[[DbConnection], T]) -> Awaitable[T]: ...

    def write(self, fn: Callable[[DbConnection], T]) -> Awaitable[T]: ...

    def serialise(self, conn: DbConnection, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    tenant: str
    sink: str
    types: tuple[str, ...]  # prefixes: "alarm." matches every alarm type; "*" matches all
    settings: dict[str, Any]
    enabled: bool = True

    def matches(self, event_type: str) -> bool:
        return any(t == "*" or event_type == t or (t.endswith(".") and event_type.startswith(t))
                   for t in self.types)


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
