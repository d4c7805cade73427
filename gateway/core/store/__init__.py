"""Durable storage: inbox, raw frames, dead letters, outbox, care configuration.

:func:`make_store` picks the backend from the configured database: a file path
or ``sqlite:///path`` is SQLite (the embedded default); ``postgresql://…`` is
PostgreSQL (production).
"""

from __future__ import annotations

from pathlib import Path

from .base import (
    AppendResult,
    DbConnection,
    OutboxItem,
    Store,
    StoredEvent,
    Subscription,
    iso,
    redact,
)
from .sqlite import SQLiteStore

__all__ = ["AppendResult", "DbConnection", "OutboxItem", "SQLiteStore", "Store", "StoredEvent",
           "Subscription", "is_url", "iso", "make_store", "redact"]

_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_url(database: str) -> bool:
    return database.startswith(_PG_SCHEMES) or database.startswith("sqlite:")


def make_store(database: str | Path, *, synchronous: str = "FULL") -> Store:
    """The store for ``database``: a SQLite path or URL, or a PostgreSQL URL (not opened)."""
    text = str(database)
    if text.startswith(_PG_SCHEMES):
        from .postgres import PostgresStore

        return PostgresStore(text.replace("postgresql+psycopg://", "postgresql://", 1))
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):] or ":memory:"
    elif text.startswith("sqlite:"):
        raise ValueError(f"a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path,"
                         f" not {text!r}")
    return SQLiteStore(text, synchronous=synchronous)
