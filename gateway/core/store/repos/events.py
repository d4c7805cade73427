"""Reading the event log: queries, counts, and the look-ups rules and services make.

The append path (events in, their outbox rows, ``last_seen``) belongs to the
engine's write job (:meth:`~gateway.core.store.base.Store.append`); everything
here only reads, apart from nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ...model import EventAdapter
from ..records import DbConnection, Engine, StoredEvent, iso


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(row["seq"], EventAdapter.validate_json(row["body"]))


def query_events(
    conn: DbConnection,
    tenant: str,
    *,
    types: Sequence[str] = (),
    resident: str | None = None,
    device: str | None = None,
    alarm: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> list[StoredEvent]:
    return [_stored(r) for r in _select(
        conn, tenant, types=types, resident=resident, device=device, alarm=alarm, since=since,
        until=until, after_seq=after_seq, limit=limit, newest_first=newest_first)]


def query_bodies(
    conn: DbConnection,
    tenant: str,
    *,
    types: Sequence[str] = (),
    resident: str | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[tuple[int, str]]:
    """``(seq, body)`` of what :func:`query_events` would give, the body as the store
    wrote it (its JSON, not validated again): for the live streams, which send it on."""
    return [(int(r[0]), str(r[1])) for r in _select(
        conn, tenant, types=types, resident=resident, after_seq=after_seq, limit=limit)]


def _select(
    conn: DbConnection,
    tenant: str,
    *,
    types: Sequence[str] = (),
    resident: str | None = None,
    device: str | None = None,
    alarm: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> list[Any]:
    sql = ["SELECT seq, body FROM events WHERE tenant = ?"]
    args: list[Any] = [tenant]
    if types:
        parts = []
        for t in types:
            if t.endswith("."):
                parts.append("type LIKE ?")
                args.append(t + "%")
            else:
                parts.append("type = ?")
                args.append(t)
        sql.append("AND (" + " OR ".join(parts) + ")")
    for col, val in (("resident", resident), ("device", device), ("alarm", alarm)):
        if val is not None:
            sql.append(f"AND {col} = ?")
            args.append(val)
    if since is not None:
        sql.append("AND time >= ?")
        args.append(iso(since))
    if until is not None:
        sql.append("AND time < ?")
        args.append(iso(until))
    if after_seq is not None:
        sql.append("AND seq > ?")
        args.append(after_seq)
    sql.append("ORDER BY seq DESC" if newest_first else "ORDER BY seq")
    sql.append("LIMIT ?")
    args.append(limit)
    return list(conn.execute(" ".join(sql), args).fetchall())


def get_event(conn: DbConnection, tenant: str, event_id: str) -> StoredEvent | None:
    row = conn.execute(
        "SELECT seq, body FROM events WHERE tenant = ? AND id = ?", (tenant, event_id)
    ).fetchone()
    return _stored(row) if row else None


def count_events(conn: DbConnection, tenant: str | None = None) -> dict[str, int]:
    sql = "SELECT type, count(*) AS n FROM events"
    args: tuple[Any, ...] = ()
    if tenant:
        sql += " WHERE tenant = ?"
        args = (tenant,)
    rows = conn.execute(sql + " GROUP BY type ORDER BY type", args).fetchall()
    return {r["type"]: r["n"] for r in rows}


def count_events_by_adapter(conn: DbConnection, tenant: str | None = None,
                            after_seq: int = 0) -> dict[str, dict[str, int]]:
    """Events per adapter family (from the device id ``<adapter>:<address>``) and type."""
    sql = ("SELECT substr(device, 1, instr(device, ':') - 1) AS adapter, type, "
           "count(*) AS n FROM events "
           "WHERE device IS NOT NULL AND instr(device, ':') > 0 AND seq > ?")
    args: tuple[Any, ...] = (after_seq,)
    if tenant:
        sql += " AND tenant = ?"
        args = (after_seq, tenant)
    rows = conn.execute(sql + " GROUP BY adapter, type ORDER BY adapter, type", args).fetchall()
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["adapter"], {})[r["type"]] = r["n"]
    return out


def last_seq(conn: DbConnection) -> int:
    row = conn.execute("SELECT max(seq) FROM events").fetchone()
    return int(row[0] or 0)


# ---------------------------------------------------------------------- look-ups by services


def latest_body(conn: DbConnection, tenant: str, event_type: str, *,
                alarm: str | None = None, resident: str | None = None,
                device: str | None = None, data_equals: tuple[str, str] | None = None,
                since: str | None = None) -> str | None:
    """The JSON body of the newest ``event_type`` event of ``tenant`` matching the given
    columns (``data_equals``: a ``$.path`` of the body and the text it must hold)."""
    sql = ["SELECT body FROM events WHERE tenant = ? AND type = ?"]
    args: list[Any] = [tenant, event_type]
    for col, val in (("alarm", alarm), ("resident", resident), ("device", device)):
        if val is not None:
            sql.append(f"AND {col} = ?")
            args.append(val)
    if data_equals is not None:
        sql.append("AND json_extract(body, ?) = ?")
        args += list(data_equals)
    if since is not None:
        sql.append("AND time >= ?")
        args.append(since)
    sql.append("ORDER BY seq DESC LIMIT 1")
    row = conn.execute(" ".join(sql), args).fetchone()
    return str(row[0]) if row else None


def first_of_alarm(conn: DbConnection, tenant: str, alarm: str, event_type: str) -> str | None:
    """The JSON body of the first ``event_type`` event of ``alarm`` (or the event that is
    ``alarm``, whose id names it)."""
    row = conn.execute(
        "SELECT body FROM events WHERE tenant = ? AND type = ?"
        " AND (alarm = ? OR id = ?) ORDER BY seq LIMIT 1",
        (tenant, event_type, alarm, alarm)).fetchone()
    return str(row[0]) if row else None


def bodies_of_type(conn: DbConnection, tenant: str, event_type: str, *,
                   since: str | None = None) -> list[str]:
    """The JSON bodies of ``tenant``'s ``event_type`` events (since ``since``), oldest first."""
    sql = "SELECT body FROM events WHERE tenant = ? AND type = ?"
    args: list[Any] = [tenant, event_type]
    if since is not None:
        sql += " AND time >= ?"
        args.append(since)
    return [str(r[0]) for r in conn.execute(sql + " ORDER BY seq", args).fetchall()]


def any_of_alarm(conn: DbConnection, tenant: str, alarm: str, types: Sequence[str]) -> bool:
    """Whether ``alarm`` of ``tenant`` has an event of one of ``types``."""
    marks = ",".join("?" for _ in types)
    return conn.execute(
        f"SELECT 1 FROM events WHERE tenant = ? AND alarm = ? AND type IN ({marks})"
        " LIMIT 1", (tenant, alarm, *types)).fetchone() is not None


def exists(conn: DbConnection, tenant: str, event_type: str, *, device: str | None = None,
           data_equals: tuple[str, str] | None = None) -> bool:
    """Whether ``tenant`` has an ``event_type`` event (of ``device``; whose body holds
    ``data_equals``: a ``$.path`` and its text)."""
    sql = ["SELECT 1 FROM events WHERE tenant = ?"]
    args: list[Any] = [tenant]
    if device is not None:
        sql.append("AND device = ?")
        args.append(device)
    sql.append("AND type = ?")
    args.append(event_type)
    if data_equals is not None:
        sql.append("AND json_extract(body, ?) = ?")
        args += list(data_equals)
    return conn.execute(" ".join(sql) + " LIMIT 1", args).fetchone() is not None


def latest_position(conn: DbConnection, tenant: str, resident: str) -> str | None:
    """The body of the resident's latest ``position.reported`` by device time."""
    row = conn.execute(
        "SELECT body FROM events WHERE tenant = ? AND resident = ? AND type = "
        "'position.reported' ORDER BY time DESC LIMIT 1", (tenant, resident)).fetchone()
    return str(row[0]) if row else None


def announced_interval(conn: DbConnection, tenant: str, device: str) -> int | None:
    """The interval ``device`` last announced in a heartbeat, if it ever did."""
    row = conn.execute(
        "SELECT json_extract(body, '$.data.interval_s') FROM events WHERE tenant = ?"
        " AND device = ? AND type = 'device.heartbeat'"
        " AND json_extract(body, '$.data.interval_s') IS NOT NULL ORDER BY time DESC LIMIT 1",
        (tenant, device)).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def announced_intervals(conn: DbConnection) -> dict[str, int]:
    """The interval every device last announced in a stored heartbeat (supervision's start:
    one read for the whole fleet, not one per device)."""
    found: dict[str, int] = {}
    for row in conn.execute(
            "SELECT device, json_extract(body, '$.data.interval_s') FROM events"
            " WHERE type = 'device.heartbeat' AND device IS NOT NULL"
            " AND json_extract(body, '$.data.interval_s') IS NOT NULL ORDER BY time, seq"):
        found[str(row[0])] = int(row[1])
    return found


def resident_bodies(conn: DbConnection, tenant: str, resident: str) -> list[str]:
    """Every stored event body naming ``resident`` (a data subject's export), in order."""
    return [str(r[0]) for r in conn.execute(
        "SELECT body FROM events WHERE tenant = ? AND resident = ? ORDER BY seq",
        (tenant, resident))]


def rows_between(conn: DbConnection, columns: str, tenant: str, types: Sequence[str],
                 since: str, until: str) -> list[Any]:
    """Rows of ``columns`` (fixed names from code) of ``tenant``'s events of ``types`` with
    ``since <= time < until`` (ISO text), in order (follow-up reports)."""
    marks = ", ".join("?" for _ in types)
    return conn.execute(
        f"SELECT {columns} FROM events WHERE tenant = ? AND type IN ({marks}) "  # fixed names
        "AND time >= ? AND time < ? ORDER BY seq", (tenant, *types, since, until)).fetchall()


class EventRepository:
    """The event log, read through the engine's reader connection."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def query(
        self,
        tenant: str,
        *,
        types: Sequence[str] = (),
        resident: str | None = None,
        device: str | None = None,
        alarm: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_seq: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[StoredEvent]:
        return self.engine.read_sync(lambda conn: query_events(
            conn, tenant, types=types, resident=resident, device=device, alarm=alarm, since=since,
            until=until, after_seq=after_seq, limit=limit, newest_first=newest_first))

    def bodies(self, tenant: str, *, types: Sequence[str] = (), resident: str | None = None,
               after_seq: int | None = None, limit: int = 100) -> list[tuple[int, str]]:
        """``(seq, stored JSON)`` in seq order (:func:`query_bodies`)."""
        return self.engine.read_sync(lambda conn: query_bodies(
            conn, tenant, types=types, resident=resident, after_seq=after_seq, limit=limit))

    def get(self, tenant: str, event_id: str) -> StoredEvent | None:
        return self.engine.read_sync(lambda conn: get_event(conn, tenant, event_id))

    def counts(self, tenant: str | None = None) -> dict[str, int]:
        return self.engine.read_sync(lambda conn: count_events(conn, tenant))

    def counts_by_adapter(self, tenant: str | None = None,
                          after_seq: int = 0) -> dict[str, dict[str, int]]:
        return self.engine.read_sync(lambda conn: count_events_by_adapter(conn, tenant, after_seq))

    def last_seq(self) -> int:
        return self.engine.read_sync(last_seq)


def alarm_events_after(conn: DbConnection, seq: int, limit: int) -> list[StoredEvent]:
    """Alarm events (``alarm.*``) after ``seq``, oldest first: what the instance running
    the rule timers observes of the others' commits (scale-out)."""
    return [_stored(r) for r in conn.execute(
        "SELECT seq, body FROM events WHERE seq > ? AND type LIKE 'alarm.%'"
        " ORDER BY seq LIMIT ?", (seq, limit)).fetchall()]
