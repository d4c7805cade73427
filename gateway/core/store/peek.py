"""A database's schema version, read without opening the store (``navet check``).

Nothing is created or migrated: a SQLite file is opened read-only, a PostgreSQL schema
is read on a connection of its own. What cannot be told without a start (no database
yet, a server that does not answer) is left to the start.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .base import SQLITE_URL, is_postgres
from .pgurl import libpq_url, redact, schema_of
from .version import refuse_newer


def peek_schema_version(database: str | Path, *, connect_timeout_s: int = 5) -> int | None:
    """The schema version ``database`` holds, read without creating or migrating anything;
    None when it cannot tell (no database yet, no schema yet, the server does not answer:
    what only a start can tell)."""
    text = str(database)
    if is_postgres(text):
        return _peek_postgres(text, connect_timeout_s)
    if text.startswith(SQLITE_URL):
        text = text[len(SQLITE_URL):]
    path = Path(text)
    if not text or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    except sqlite3.Error:  # no schema yet, or not a database Navet can read
        return None
    finally:
        conn.close()
    return None if row[0] is None else int(row[0])


def _peek_postgres(url: str, connect_timeout_s: int) -> int | None:
    try:
        import psycopg
        from psycopg import sql as pgsql
    except ImportError:  # the start says what is missing
        return None
    try:
        conn = psycopg.connect(libpq_url(url, connect_timeout_s=connect_timeout_s),
                               autocommit=True)
    except psycopg.Error:
        return None
    try:
        with contextlib.closing(conn):
            row = conn.execute(pgsql.SQL("SELECT max(version) FROM {}.schema_version").format(
                pgsql.Identifier(schema_of(url)))).fetchone()
    except psycopg.Error:  # no schema or table yet
        return None
    return None if row is None or row[0] is None else int(row[0])


def check_database(database: str | Path) -> int | None:
    """``navet check``'s look at the database: its schema version (None if it cannot
    tell); raises :class:`SchemaTooNewError` when this Navet must not open it."""
    found = peek_schema_version(database)
    refuse_newer(found, redact(str(database)))
    return found
