"""Retention: what each kind of row past its period is, counted or deleted a chunk at a time.

Every delete here takes at most ``limit`` rows, so the caller runs it as many small
write jobs (each its own short transaction between the writer's other batches), never
one long one. What must stay, stays whatever its age:

- an event still waiting in an outbox (a consumer has not got it yet);
- every event of an alarm that is still open, or folded into one that is;
- a raw frame a dead letter still refers to.

What the rules of :mod:`gateway.core.retention` call a *kind* is one function pair
here: ``count_<kind>`` (for ``--dry-run``) and ``delete_<kind>``.
"""

from __future__ import annotations

from typing import Any

from ..records import DbConnection

LIVENESS_TYPES: tuple[str, ...] = ("device.heartbeat", "device.online", "device.offline")
"""The events of the ``heartbeats`` kind; every other type is of ``events``."""

_OPEN = "('raised', 'acknowledged', 'dispatched', 'attended')"

_KEEP_EVENT = f"""
    AND e.seq NOT IN (SELECT o.seq FROM outbox o WHERE o.state = 'pending')
    AND (e.alarm IS NULL OR NOT EXISTS (
        SELECT 1 FROM alarms a WHERE a.tenant = e.tenant AND a.id = e.alarm AND (
            a.state IN {_OPEN} OR EXISTS (
                SELECT 1 FROM alarms f WHERE f.tenant = a.tenant AND f.id = a.folded_into
                AND f.state IN {_OPEN}))))
"""


def event_tenants(conn: DbConnection) -> list[str]:
    """The tenants that have events, by a walk of the (tenant, ...) index (one probe per
    tenant, not a scan of every event)."""
    return [str(r[0]) for r in conn.execute(
        "WITH RECURSIVE t(tenant) AS (SELECT min(tenant) FROM events UNION ALL"
        " SELECT (SELECT min(e.tenant) FROM events e WHERE e.tenant > t.tenant) FROM t"
        " WHERE t.tenant IS NOT NULL) SELECT tenant FROM t WHERE tenant IS NOT NULL")]


def _events_where(liveness: bool) -> tuple[str, list[Any]]:
    # tenant and received first: the (tenant, received) index finds the old rows, so a
    # chunk reads what is past the cutoff, not the whole table
    marks = ",".join("?" * len(LIVENESS_TYPES))
    test = "IN" if liveness else "NOT IN"
    return (f"e.tenant = ? AND e.received < ? AND e.type {test} ({marks}) {_KEEP_EVENT}",
            list(LIVENESS_TYPES))


def count_events(conn: DbConnection, cutoff: str, *, liveness: bool) -> int:
    where, types = _events_where(liveness)
    return sum(int(conn.execute(f"SELECT count(*) FROM events e WHERE {where}",  # fixed text
                                [tenant, cutoff, *types]).fetchone()[0])
               for tenant in event_tenants(conn))


def delete_events(conn: DbConnection, tenant: str, cutoff: str, limit: int, *,
                  liveness: bool) -> int:
    """Delete up to ``limit`` of ``tenant``'s events past ``cutoff`` of one kind (liveness
    or the rest), keeping what must stay; how many went."""
    where, types = _events_where(liveness)
    return int(conn.execute(
        f"DELETE FROM events WHERE seq IN (SELECT e.seq FROM events e WHERE {where}"  # fixed
        " LIMIT ?)", [tenant, cutoff, *types, limit]).rowcount)


def delete_orphans(conn: DbConnection) -> int:
    """After events went: outbox rows (dead ones) whose event is gone, and the projection
    row of an alarm that is over and whose events are all gone (it names the resident and
    the device). How many alarm rows went."""
    conn.execute("DELETE FROM outbox WHERE state != 'pending' AND NOT EXISTS "
                 "(SELECT 1 FROM events e WHERE e.seq = outbox.seq)")
    return int(conn.execute(
        "DELETE FROM alarms WHERE (state IS NULL OR state IN ('closed', 'cancelled')"
        " OR folded_into IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM events e"
        " WHERE e.tenant = alarms.tenant AND e.alarm = alarms.id)"  # two probes, two indexes
        " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = alarms.id)"
        " AND NOT EXISTS (SELECT 1 FROM alarms o WHERE o.tenant = alarms.tenant"
        " AND o.folded_into = alarms.id)").rowcount)


_FRAME_WHERE = ("f.received < ? AND NOT EXISTS "
                "(SELECT 1 FROM dead_letters d WHERE d.frame = f.ref)")


def count_frames(conn: DbConnection, cutoff: str, dead_letters_cutoff: str | None) -> int:
    """The frames a prune would remove: those of the dead letters that go with it too."""
    if dead_letters_cutoff is None:
        return int(conn.execute(f"SELECT count(*) FROM frames f WHERE {_FRAME_WHERE}",  # fixed
                                (cutoff,)).fetchone()[0])
    return int(conn.execute(
        "SELECT count(*) FROM frames f WHERE f.received < ? AND NOT EXISTS (SELECT 1 FROM"
        " dead_letters d WHERE d.frame = f.ref AND d.received >= ?)",
        (cutoff, dead_letters_cutoff)).fetchone()[0])


def delete_frames(conn: DbConnection, cutoff: str, limit: int) -> int:
    """Up to ``limit`` raw frames received before ``cutoff`` that no dead letter refers to.
    (ref, received) names one row also where frames are partitioned (PostgreSQL), where a
    frame received again in another month is a row of its own."""
    return int(conn.execute(
        f"DELETE FROM frames WHERE (ref, received) IN (SELECT f.ref, f.received FROM frames f"
        f" WHERE {_FRAME_WHERE} LIMIT ?)", (cutoff, limit)).rowcount)


def count_dead_letters(conn: DbConnection, cutoff: str) -> int:
    return int(conn.execute("SELECT count(*) FROM dead_letters WHERE received < ?",
                            (cutoff,)).fetchone()[0])


def delete_dead_letters(conn: DbConnection, cutoff: str, limit: int) -> int:
    return int(conn.execute(
        "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters WHERE received < ?"
        " ORDER BY id LIMIT ?)", (cutoff, limit)).rowcount)


def count_outbox(conn: DbConnection, cutoff: str) -> int:
    return int(conn.execute("SELECT count(*) FROM outbox WHERE state != 'pending' AND "
                            "next_attempt < ?", (cutoff,)).fetchone()[0])


def delete_outbox(conn: DbConnection, cutoff: str, limit: int) -> int:
    """Outbox rows no longer waiting (a delivery gave up: ``dead``) whose last attempt was
    before ``cutoff``."""
    return int(conn.execute(
        "DELETE FROM outbox WHERE (subscription, seq) IN (SELECT subscription, seq FROM outbox"
        " WHERE state != 'pending' AND next_attempt < ? LIMIT ?)", (cutoff, limit)).rowcount)


def count_sessions(conn: DbConnection, cutoff: str) -> int:
    return int(conn.execute("SELECT count(*) FROM sessions WHERE expires < ?",
                            (cutoff,)).fetchone()[0])


def delete_sessions(conn: DbConnection, cutoff: str, limit: int) -> int:
    return int(conn.execute(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires < ? LIMIT ?)",
        (cutoff, limit)).rowcount)


def count_audit(conn: DbConnection, cutoff: str) -> int:
    """Audit entries older than ``cutoff`` (what a prune from an anchor would remove)."""
    first = conn.execute("SELECT min(seq) FROM audit_log WHERE time >= ?",
                         (cutoff,)).fetchone()[0]
    if first is None:
        return int(conn.execute("SELECT count(*) FROM audit_log").fetchone()[0])
    return int(conn.execute("SELECT count(*) FROM audit_log WHERE seq < ?",
                            (first,)).fetchone()[0])
