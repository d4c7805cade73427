"""What the FHIR facade keeps in the store: subscription status and event numbers.

The Subscription resource itself lives in the core ``subscriptions`` table (it
is an outbox subscription); what changes while it runs (status, the last
error, the number given to each event) lives in two tables of its own (store
schema 3), whose SQL is :mod:`gateway.core.store.repos.fhir`.
"""

from __future__ import annotations

from typing import Any

from gateway.core.store.repos import fhir as rows


async def set_status(store: Any, sub: str, status: str, error: str | None,
                     tenant: str | None = None) -> None:
    text = (error or "")[:500] or None
    await store.write(lambda conn: rows.set_status(conn, sub, tenant or "", status, text))


def _row(store: Any, sub: str) -> Any:
    return store.read_sync(lambda conn: rows.status_row(conn, sub))


async def status(store: Any, sub: str) -> str | None:
    row = await store.read(lambda conn: _row(store, sub))
    return str(row["status"]) if row else None


def status_sync(store: Any, sub: str) -> tuple[str | None, str | None]:
    row = _row(store, sub)
    return (str(row["status"]), row["error"]) if row else (None, None)


async def number(store: Any, sub: str, event: str) -> int:
    """The event's number in this subscription; the same number on every retry."""
    result: int = await store.write(lambda conn: rows.number(conn, sub, event))
    return result


async def count(store: Any, sub: str) -> int:
    result: int = await store.read(lambda conn: rows.count(conn, sub))
    return result


async def numbered(store: Any, sub: str, since: int | None,
                   until: int | None) -> list[tuple[str, int]]:
    """(event id, number) of the numbered events ``since`` .. ``until`` (inclusive)."""
    result: list[tuple[str, int]] = await store.read(lambda conn: rows.numbered(
        conn, sub, since if since is not None else 1, until if until is not None else 2 ** 62))
    return result
