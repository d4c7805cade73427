"""What the FHIR facade keeps: subscription status and the number given to each event.

The Subscription resource itself is a row of ``subscriptions`` (an outbox
subscription); these two tables (schema 3) hold what changes while it runs.
"""

from __future__ import annotations

from typing import Any

from ..records import DbConnection, Engine


def set_status(conn: DbConnection, sub: str, tenant: str, status: str,
               error: str | None) -> None:
    conn.execute(
        "INSERT INTO fhir_subscription_state (id, tenant, status, error) VALUES (?,?,?,?)"
        " ON CONFLICT (id) DO UPDATE SET status = excluded.status, error = excluded.error",
        (sub, tenant, status, error),
    )


def status_row(conn: DbConnection, sub: str) -> Any:
    """The (status, error) row of ``sub``, or None."""
    return conn.execute(
        "SELECT status, error FROM fhir_subscription_state WHERE id = ?", (sub,)).fetchone()


def number(conn: DbConnection, sub: str, event: str) -> int:
    """The event's number in ``sub``, given now if it has none: the same on every retry."""
    row = conn.execute("SELECT number FROM fhir_notifications WHERE subscription = ?"
                       " AND event = ?", (sub, event)).fetchone()
    if row:
        return int(row[0])
    nxt = conn.execute("SELECT coalesce(max(number), 0) + 1 FROM fhir_notifications"
                       " WHERE subscription = ?", (sub,)).fetchone()[0]
    conn.execute("INSERT INTO fhir_notifications (subscription, event, number)"
                 " VALUES (?,?,?)", (sub, event, int(nxt)))
    return int(nxt)


def count(conn: DbConnection, sub: str) -> int:
    return int(conn.execute("SELECT coalesce(max(number), 0) FROM fhir_notifications"
                            " WHERE subscription = ?", (sub,)).fetchone()[0])


def numbered(conn: DbConnection, sub: str, since: int, until: int) -> list[tuple[str, int]]:
    """(event id, number) of the numbered events ``since`` .. ``until`` (inclusive)."""
    rows = conn.execute(
        "SELECT event, number FROM fhir_notifications WHERE subscription = ?"
        " AND number >= ? AND number <= ? ORDER BY number LIMIT 1000",
        (sub, since, until)).fetchall()
    return [(str(r[0]), int(r[1])) for r in rows]


class FhirStateRepository:
    """The FHIR facade's two tables on an engine; satisfies
    :class:`gateway.fhir.host.FhirStateStore` (the facade never imports the core)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def set_status(self, sub: str, tenant: str, status: str, error: str | None) -> None:
        await self._engine.write(lambda conn: set_status(conn, sub, tenant, status, error))

    def status_sync(self, sub: str) -> tuple[str | None, str | None]:
        row = self._engine.read_sync(lambda conn: status_row(conn, sub))
        return (str(row["status"]), row["error"]) if row else (None, None)

    async def status(self, sub: str) -> tuple[str | None, str | None]:
        return await self._engine.read(lambda conn: self.status_sync(sub))

    async def number(self, sub: str, event: str) -> int:
        result: int = await self._engine.write(lambda conn: number(conn, sub, event))
        return result

    async def count(self, sub: str) -> int:
        result: int = await self._engine.read(lambda conn: count(conn, sub))
        return result

    async def numbered(self, sub: str, since: int, until: int) -> list[tuple[str, int]]:
        result: list[tuple[str, int]] = await self._engine.read(
            lambda conn: numbered(conn, sub, since, until))
        return result
