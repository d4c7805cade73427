"""What the rules read of the event history: alarm events as the rules saw them (``ruled``),
folds, doses, sensor reports and a resident's last no-activity alarm.

The alarm projection (:mod:`..alarms`) answers the console and the API; the rules keep
their own view of what they have ruled so far, read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..records import DbConnection


def alarm_events(conn: DbConnection, *, tenant: str | None, alarm: str | None = None,
                 alarms: Sequence[str] = (), open_only: bool,
                 ruled_only: bool) -> list[tuple[int, str]]:
    """(seq, body) of alarm events in storage order: of ``tenant`` (any without), of one
    ``alarm`` (its events and the event that raised it) or of the ``alarms`` named;
    ``open_only``: not of an alarm closed since; ``ruled_only``: as the rules saw them."""
    where = ["e.type LIKE 'alarm.%'"]
    args: list[Any] = []
    if tenant is not None:
        where.append("e.tenant = ?")
        args.append(tenant)
    if alarm is not None:
        where.append("(e.alarm = ? OR e.id = ?)")
        args += [alarm, alarm]
    if alarms:
        where.append(f"e.alarm IN ({','.join('?' * len(alarms))})")
        args += list(alarms)
    if ruled_only:
        where.append("e.ruled = 1")
    if open_only:
        where.append(
            "NOT EXISTS (SELECT 1 FROM events c WHERE c.type = 'alarm.closed'"
            " AND c.tenant = e.tenant AND c.alarm = coalesce(e.alarm, e.id)"
            + (" AND c.ruled = 1" if ruled_only else "") + ")"
        )
    rows = conn.execute(
        "SELECT e.seq, e.body FROM events e WHERE " + " AND ".join(where) + " ORDER BY e.seq",
        args,
    ).fetchall()
    return [(int(row[0]), str(row[1])) for row in rows]


def fold_updates(conn: DbConnection, tenant: str, device: str, *,
                 ruled_only: bool) -> list[tuple[str | None, str]]:
    """(alarm, body) of a device's ``alarm.updated`` events that mention a fold."""
    rows = conn.execute(
        "SELECT alarm, body FROM events WHERE tenant = ? AND device = ?"
        " AND type = 'alarm.updated' AND body LIKE ?" + (" AND ruled = 1" if ruled_only else ""),
        (tenant, device, '%"folded":{%'),
    ).fetchall()
    return [(None if row[0] is None else str(row[0]), str(row[1])) for row in rows]


def raised(conn: DbConnection, alarm: str, tenant: str | None) -> tuple[str, str] | None:
    """(tenant, body) of the event that raised ``alarm``, or None."""
    row = conn.execute(
        "SELECT tenant, body FROM events WHERE (alarm = ? OR id = ?) AND type = 'alarm.raised'"
        + (" AND tenant = ?" if tenant is not None else "") + " ORDER BY seq LIMIT 1",
        (alarm, alarm, *([tenant] if tenant is not None else [])),
    ).fetchone()
    return (str(row[0]), str(row[1])) if row is not None else None


def ruled_bodies(conn: DbConnection, types: Sequence[str], since: str) -> list[str]:
    """Bodies of the events of ``types`` since ``since`` the rules have seen, in order."""
    rows = conn.execute(
        f"SELECT body FROM events WHERE ruled = 1 AND type IN ({','.join('?' * len(types))})"
        " AND time >= ? ORDER BY seq", (*types, since)).fetchall()
    return [str(row[0]) for row in rows]


def has_unruled_reports(conn: DbConnection, tenant: str, column: str, value: str) -> bool:
    """Whether sensor reports of a ``device`` or ``resident`` wait for the rules."""
    if column not in ("device", "resident"):
        raise ValueError(f"unruled sensor reports by device or resident, not {column!r}")
    return conn.execute(
        f"SELECT 1 FROM events WHERE ruled = 0 AND tenant = ? AND {column} = ?"  # fixed names
        " AND type = 'sensor.reported' LIMIT 1", (tenant, value)).fetchone() is not None


def seen_sensor_reports(conn: DbConnection, tenant: str, since: str,
                        not_from: str) -> list[Any]:
    """(id, resident, time, device, readings, zone) of the sensor reports of ``tenant``
    since ``since`` the rules already processed, not those of adapter ``not_from``."""
    return list(conn.execute(
        "SELECT id, resident, time, json_extract(body, '$.device'),"
        " json_extract(body, '$.data.readings'), json_extract(body, '$.location.zone')"
        " FROM events WHERE tenant = ?"
        " AND type = 'sensor.reported' AND time >= ? AND ruled = 1"
        " AND json_extract(body, '$.source.adapter') != ? ORDER BY seq",
        (tenant, since, not_from)).fetchall())


def latest_alarm_time(conn: DbConnection, tenant: str, resident: str, kind: str) -> str | None:
    """When the resident's newest alarm of ``kind`` was raised, or None."""
    row = conn.execute(
        "SELECT time FROM events WHERE tenant = ? AND resident = ? AND type = 'alarm.raised'"
        " AND json_extract(body, '$.data.kind') = ? ORDER BY seq DESC LIMIT 1",
        (tenant, resident, kind)).fetchone()
    return str(row[0]) if row else None
