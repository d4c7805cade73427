"""The schema version a database holds, against the migrations this Navet knows.

Migrations only go forward: a newer Navet migrates the database at its first start, and
an older one started on that database afterwards (a rollback of the software without a
restore of the data) would read and write tables whose meaning it does not know. The
store refuses to open such a database (:meth:`Store.open <.base.Store.open>`), and
``navet check`` says so before a start (:func:`peek_schema_version`), both with
:class:`SchemaTooNewError`, which names both versions and the two ways out.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from gateway.errors import StoreError

from .pgurl import SQLITE_URL, is_postgres, libpq_url, redact, schema_of
from .schema import MIGRATIONS


class SchemaTooNewError(StoreError):
    """The database's schema is newer than the migrations this Navet knows."""

    def __init__(self, label: str, found: int, known: int) -> None:
        from gateway import __version__

        self.found, self.known = found, known
        super().__init__(
            f"database {label} has schema version {found}, newer than this Navet "
            f"{__version__} knows (schema {known}): a newer Navet has migrated it. Run "
            f"that newer Navet (or a later one), or restore the backup taken before the "
            f"upgrade to go back to this version (docs/deployment.md, \"Upgrades\")")


def refuse_newer(found: int | None, label: str, known: int | None = None) -> None:
    """Raise :class:`SchemaTooNewError` if ``found`` (the database's schema version) is
    beyond ``known``, the migrations this Navet knows (default: all of them)."""
    known = len(MIGRATIONS) if known is None else known
    if found is not None and int(found) > known:
        raise SchemaTooNewError(label, int(found), known)


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
