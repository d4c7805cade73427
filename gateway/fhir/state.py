"""What the FHIR facade keeps in the store: subscription status and event numbers.

The Subscription resource itself lives in the core ``subscriptions`` table (it
is an outbox subscription); what changes while it runs (status, the last
error, the number given to each event) lives in these two tables, created on
first use.
"""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS fhir_subscription_state (
    id      TEXT PRIMARY KEY,
    tenant  TEXT NOT NULL,
    status  TEXT NOT NULL,
    error   TEXT
);
CREATE TABLE IF NOT EXISTS fhir_notifications (
    subscription  TEXT NOT NULL,
    event         TEXT NOT NULL,
    number        INTEGER NOT NULL,
    PRIMARY KEY (subscription, event)
)
"""


def _ensure(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


async def ensure_tables(store: Any) -> None:
    await store.write(_ensure)


async def set_status(store: Any, sub: str, status: str, error: str | None,
                     tenant: str | None = None) -> None:
    def job(conn: sqlite3.Connection) -> None:
        _ensure(conn)
        conn.execute(
            "INSERT INTO fhir_subscription_state (id, tenant, status, error) VALUES (?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error",
            (sub, tenant or "", status, (error or "")[:500] or None),
        )

    await store.write(job)


def _row(store: Any, sub: str) -> sqlite3.Row | None:
    try:
        row: sqlite3.Row | None = store.read_sync(lambda conn: conn.execute(
            "SELECT status, error FROM fhir_subscription_state WHERE id = ?", (sub,)).fetchone())
    except sqlite3.OperationalError:  # the table does not exist yet
        return None
    return row


async def status(store: Any, sub: str) -> str | None:
    row = await store.read(lambda conn: _row(store, sub))
    return str(row["status"]) if row else None


def status_sync(store: Any, sub: str) -> tuple[str | None, str | None]:
    row = _row(store, sub)
    return (str(row["status"]), row["error"]) if row else (None, None)


async def number(store: Any, sub: str, event: str) -> int:
    """The event's number in this subscription; the same number on every retry."""

    def job(conn: sqlite3.Connection) -> int:
        _ensure(conn)
        row = conn.execute("SELECT number FROM fhir_notifications WHERE subscription = ?"
                           " AND event = ?", (sub, event)).fetchone()
        if row:
            return int(row[0])
        nxt = conn.execute("SELECT coalesce(max(number), 0) + 1 FROM fhir_notifications"
                           " WHERE subscription = ?", (sub,)).fetchone()[0]
        conn.execute("INSERT INTO fhir_notifications VALUES (?,?,?)", (sub, event, nxt))
        return int(nxt)

    result: int = await store.write(job)
    return result


async def count(store: Any, sub: str) -> int:
    def read(conn: sqlite3.Connection) -> int:
        try:
            return int(conn.execute("SELECT coalesce(max(number), 0) FROM fhir_notifications"
                                    " WHERE subscription = ?", (sub,)).fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    result: int = await store.read(read)
    return result


async def numbered(store: Any, sub: str, since: int | None,
                   until: int | None) -> list[tuple[str, int]]:
    """(event id, number) of the numbered events ``since`` .. ``until`` (inclusive)."""

    def read(conn: sqlite3.Connection) -> list[tuple[str, int]]:
        try:
            rows = conn.execute(
                "SELECT event, number FROM fhir_notifications WHERE subscription = ?"
                " AND number >= ? AND number <= ? ORDER BY number LIMIT 1000",
                (sub, since if since is not None else 1,
                 until if until is not None else 2 ** 62)).fetchall()
        except sqlite3.OperationalError:
            return []
        return [(str(r[0]), int(r[1])) for r in rows]

    result: list[tuple[str, int]] = await store.read(read)
    return result
