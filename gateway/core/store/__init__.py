"""Durable storage: inbox, raw frames, dead letters, outbox, care configuration.

:func:`make_store` picks the backend from the configured database: a file path
or ``sqlite:///path`` is SQLite (the embedded default); ``postgresql://…`` is
PostgreSQL (production).
"""

from __future__ import annotations

from pathlib import Path

from ..security.pii import PiiCipher
from .base import SQLITE_URL, Store, is_postgres, redact, schema_of, with_schema
from .records import (
    AppendResult,
    DbConnection,
    Engine,
    OutboxItem,
    StoredEvent,
    Subscription,
    iso,
)
from .sqlite import SQLiteStore

__all__ = ["SQLITE_URL", "AppendResult", "DbConnection", "Engine", "OutboxItem", "SQLiteStore",
           "Store",
           "StoredEvent", "Subscription", "is_postgres", "iso", "make_store", "redact",
           "schema_of", "with_schema"]


def make_store(database: str | Path, *, synchronous: str = "FULL",
               cipher: PiiCipher | None = None) -> Store:
    """The store for ``database``: a SQLite path or URL, or a PostgreSQL URL (not opened).

    ``cipher`` seals subscription settings at rest (:mod:`.sealed`); a store without one
    holds only subscriptions without settings."""
    text = str(database)
    if is_postgres(text):
        from .postgres import PostgresStore

        return PostgresStore(text, cipher=cipher)
    if text.startswith(SQLITE_URL):
        text = text[len(SQLITE_URL):] or ":memory:"
    elif text.startswith("sqlite:"):
        raise ValueError(f"a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path,"
                         f" not {text!r}")
    return SQLiteStore(text, synchronous=synchronous, cipher=cipher)
