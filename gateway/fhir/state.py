"""What the FHIR facade keeps in the store: subscription status and event numbers.

The Subscription resource itself lives in the core ``subscriptions`` table (it
is an outbox subscription); what changes while it runs (status, the last
error, the number given to each event) lives in these two tables (store schema 3).
"""

from __future__ import annotations

from typing import Any

from .host import Db as DbConnection


async def set_status(store: Any, sub: str, status: str, error: str | None,
                     tenant: str | None = None) -> None:
    def job(conn: DbConnection) -> None:
        conn.execute(
            "INSERT INTO fhir_subscription_state (id, tenant, status, error) VALUES (?,?,?,?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error",
            (sub, tenant or "", status, (error or "")[:500] or None),
        )

    await store.write(job)


def _row(store: Any, sub: str) -> Any:
    return store.read_sync(lambda conn: conn.execute(
        "SELECT status, error FROM fhir_subscription_state WHERE id = ?", (sub,)).fetchone())


async def status(store: Any, sub: str) -> str | None:
    row = await store.read(lambda conn: _row(store, sub))
    return str(row["status"]) if row else None


def status_sync(store: Any, sub: str) -> tuple[str | None, str | None]:
    row = _row(store, sub)
    return (str(row["status"]), row["error"]) if row else (None, None)


async def number(store: Any, sub: str, event: str) -> int:
    """The event's number in this subscription; the same number on every retry."""

    def job(conn: DbConnection) -> int:
        row = conn.execute("SELECT number FROM fhir_notifications WHERE subscription = ?"
                           " AND event = ?", (sub, event)).fetchone()
        if row:
            return int(row[0])
        nxt = conn.execute("SELECT coalesce(max(number), 0) + 1 FROM fhir_notifications"
                           " WHERE subscription = ?", (sub,)).fetchone()[0]
        conn.execute("INSERT INTO fhir_notifications (subscription, event, number)"
                     " VALUES (?,?,?)", (sub, event, int(nxt)))
        return int(nxt)

    result: int = await store.write(job)
    return result


async def count(store: Any, sub: str) -> int:
    def read(conn: DbConnection) -> int:
        return int(conn.execute("SELECT coalesce(max(number), 0) FROM fhir_notifications"
                                " WHERE subscription = ?", (sub,)).fetchone()[0])

    result: int = await store.read(read)
    return result


async def numbered(store: Any, sub: str, since: int | None,
                   until: int | None) -> list[tuple[str, int]]:
    """(event id, number) of the numbered events ``since`` .. ``until`` (inclusive)."""

    def read(conn: DbConnection) -> list[tuple[str, int]]:
        rows = conn.execute(
            "SELECT event, number FROM fhir_notifications WHERE subscription = ?"
            " AND number >= ? AND number <= ? ORDER BY number LIMIT 1000",
            (sub, since if since is not None else 1,
             until if until is not None else 2 ** 62)).fetchall()
        return [(str(r[0]), int(r[1])) for r in rows]

    result: list[tuple[str, int]] = await store.read(read)
    return result
