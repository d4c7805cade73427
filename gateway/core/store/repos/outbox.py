"""The outbox: per subscription and lane (resident), what is still to be delivered.

Rows are added by the engine's append job (in the event's own transaction);
here they are read when due, removed once delivered, retried with backoff,
replayed, handed over to a fallback subscription (routing), and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...model import EventAdapter
from ..records import NOT_FANNED_OUT, DbConnection, Engine, OutboxItem, Subscription, iso


def due(conn: DbConnection, subscription: str, now: datetime,
        limit: int = 100) -> list[OutboxItem]:
    """The oldest pending row of each lane (resident) that is due: order per lane holds."""
    rows = conn.execute(
        "SELECT o.seq, o.attempts, o.enqueued, e.body FROM outbox o"
        " JOIN events e ON e.seq = o.seq"
        " WHERE o.subscription = ? AND o.state = 'pending' AND o.next_attempt <= ?"
        " AND o.seq IN ("
        "   SELECT min(seq) FROM outbox WHERE subscription = ? AND state = 'pending'"
        "   GROUP BY lane)"
        " ORDER BY o.seq LIMIT ?",  # due-filter before LIMIT: lanes backing off starve none
        (subscription, iso(now), subscription, limit),
    ).fetchall()
    return [
        OutboxItem(subscription, r["seq"], r["attempts"], EventAdapter.validate_json(r["body"]),
                   datetime.fromisoformat(r["enqueued"]) if r["enqueued"] else None)
        for r in rows
    ]


def done(conn: DbConnection, subscription: str, seqs: Sequence[int], at: datetime | None,
         last_event: str | None) -> None:
    conn.executemany(
        "DELETE FROM outbox WHERE subscription = ? AND seq = ?",
        [(subscription, s) for s in seqs],
    )
    if at is not None:
        conn.execute(
            "INSERT INTO outbox_state (subscription, delivered, last_delivered, last_event)"
            " VALUES (?,?,?,?) ON CONFLICT (subscription) DO UPDATE SET"
            " delivered = outbox_state.delivered + excluded.delivered,"
            " last_delivered = excluded.last_delivered, last_event = excluded.last_event",
            (subscription, len(seqs), iso(at), last_event),
        )


def retry(conn: DbConnection, subscription: str, seq: int, error: str, next_attempt: datetime,
          dead: bool, at: datetime | None) -> None:
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt = ?, last_error = ?,"
        " state = ? WHERE subscription = ? AND seq = ?",
        (iso(next_attempt), error[:500], "dead" if dead else "pending", subscription, seq),
    )
    if at is not None:
        conn.execute(
            "INSERT INTO outbox_state (subscription, last_error, last_error_at)"
            " VALUES (?,?,?) ON CONFLICT (subscription) DO UPDATE SET"
            " last_error = excluded.last_error, last_error_at = excluded.last_error_at",
            (subscription, error[:500], iso(at)),
        )


def depth(conn: DbConnection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT subscription, count(*) AS n FROM outbox WHERE state = 'pending'"
        " GROUP BY subscription"
    ).fetchall()
    return {r["subscription"]: r["n"] for r in rows}


def replay(conn: DbConnection, sub: Subscription, since: datetime, now: datetime,
           until: datetime | None) -> int:
    sql = ("SELECT seq, type, coalesce(nullif(resident, ''), nullif(device, ''), '-')"
           " AS lane FROM events WHERE tenant = ? AND received >= ?")
    args: list[Any] = [sub.tenant, iso(since)]
    if until is not None:
        sql += " AND received < ?"
        args.append(iso(until))
    rows = [(sub.id, r["seq"], r["lane"], iso(now), iso(now))
            for r in conn.execute(sql + " ORDER BY seq", args)
            if r["type"] not in NOT_FANNED_OUT and sub.matches(r["type"])]
    conn.executemany(
        "INSERT INTO outbox (subscription, seq, lane, next_attempt, enqueued)"
        " VALUES (?,?,?,?,?) ON CONFLICT (subscription, seq) DO UPDATE SET"
        " state = 'pending', attempts = 0, next_attempt = excluded.next_attempt,"
        " enqueued = excluded.enqueued, last_error = NULL WHERE outbox.state = 'dead'",
        rows,
    )
    return len(rows)


def status(conn: DbConnection, subscription: str) -> dict[str, Any]:
    """Delivery state of one subscription: depth, dead letters, last delivery and error."""
    counts = {r["state"]: r["n"] for r in conn.execute(
        "SELECT state, count(*) AS n FROM outbox WHERE subscription = ? GROUP BY state",
        (subscription,))}
    oldest = conn.execute(
        "SELECT min(e.received) FROM outbox o JOIN events e ON e.seq = o.seq"
        " WHERE o.subscription = ? AND o.state = 'pending'", (subscription,)).fetchone()[0]
    row = conn.execute("SELECT * FROM outbox_state WHERE subscription = ?",
                       (subscription,)).fetchone()
    state = dict(row) if row else {}
    return {
        "depth": counts.get("pending", 0),
        "dead_letters": counts.get("dead", 0),
        "oldest_pending": oldest,
        "delivered": state.get("delivered", 0),
        "last_delivered": state.get("last_delivered"),
        "last_event": state.get("last_event"),
        "last_error": state.get("last_error"),
        "last_error_at": state.get("last_error_at"),
    }


def dead(conn: DbConnection, subscription: str, limit: int = 20) -> list[dict[str, Any]]:
    """The newest dead deliveries of one subscription: event id, type, attempts, error."""
    rows = conn.execute(
        "SELECT e.id, e.type, e.received, o.attempts, o.last_error FROM outbox o"
        " JOIN events e ON e.seq = o.seq WHERE o.subscription = ? AND o.state = 'dead'"
        " ORDER BY o.seq DESC LIMIT ?", (subscription, limit)).fetchall()
    return [dict(r) for r in rows]


# ---------------------------------------------------------------------- hand-over (routing)


def last_error(conn: DbConnection, subscription: str, seq: int) -> str | None:
    row = conn.execute("SELECT last_error FROM outbox WHERE subscription = ? AND seq = ?",
                       (subscription, seq)).fetchone()
    return None if row is None else row[0]


def remove_pending_unless(conn: DbConnection, subscription: str, seq: int,
                          marker: str) -> bool:
    """Remove a pending row unless its last error starts with ``marker`` (a hand-over
    marked it); whether one was removed."""
    cur = conn.execute(
        "DELETE FROM outbox WHERE subscription = ? AND seq = ? AND state = 'pending'"
        " AND (last_error IS NULL OR last_error NOT LIKE ?)", (subscription, seq, marker + "%"))
    return bool(cur.rowcount > 0)


def move(conn: DbConnection, primary: str, fallback: str, seq: int, now: datetime,
         note: str) -> None:
    """Queue ``seq`` for ``fallback`` (in its lane, due ``now``, with ``note``) and remove
    it from ``primary``, in the caller's transaction."""
    conn.execute(
        "INSERT INTO outbox (subscription, seq, lane, next_attempt, last_error)"
        " SELECT ?, seq, lane, ?, ? FROM outbox WHERE subscription = ? AND seq = ?"
        " ON CONFLICT (subscription, seq) DO UPDATE SET state = 'pending',"
        " next_attempt = excluded.next_attempt, last_error = excluded.last_error",
        (fallback, iso(now), note, primary, seq))
    conn.execute("DELETE FROM outbox WHERE subscription = ? AND seq = ?", (primary, seq))


class OutboxRepository:
    """The outbox through the engine: reads on the reader, changes in the writer's batch."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def due(self, subscription: str, now: datetime, limit: int = 100) -> list[OutboxItem]:
        return self.engine.read_sync(lambda conn: due(conn, subscription, now, limit))

    async def done(self, subscription: str, seqs: Sequence[int], *, at: datetime | None = None,
                   last_event: str | None = None) -> None:
        await self.engine.write(lambda conn: done(conn, subscription, seqs, at, last_event))

    async def retry(self, subscription: str, seq: int, error: str, next_attempt: datetime, *,
                    dead: bool, at: datetime | None = None) -> None:
        await self.engine.write(
            lambda conn: retry(conn, subscription, seq, error, next_attempt, dead, at))

    def depth(self) -> dict[str, int]:
        return self.engine.read_sync(depth)

    async def replay(self, sub: Subscription, since: datetime, now: datetime,
                     until: datetime | None = None) -> int:
        """Queue again every event of ``sub`` that Navet received in ``[since, until)``.

        Rows are keyed on (subscription, seq), so an event still pending is not
        doubled and a dead one becomes pending again; each lands in its lane by
        its original position, so order per resident holds. Returns how many
        events were queued.
        """
        return await self.engine.write(lambda conn: replay(conn, sub, since, now, until))

    def status(self, subscription: str) -> dict[str, Any]:
        return self.engine.read_sync(lambda conn: status(conn, subscription))

    def dead(self, subscription: str, limit: int = 20) -> list[dict[str, Any]]:
        return self.engine.read_sync(lambda conn: dead(conn, subscription, limit))
