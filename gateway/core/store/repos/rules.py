"""What the rules read of the event history when they load their state: doses, sensor
reports and a resident's last no-activity alarm, as far as the rules have seen them.

``ruled = 1`` is what the rules have seen: a row is stored with it when the rules rule
it in the same transaction, and gets it when :meth:`Store.rule_backlog
<gateway.core.store.base.Store.rule_backlog>` rules a row stored without. The open
alarms come from the alarm projection (:mod:`..alarms`), not from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..records import DbConnection


def unruled_raises(conn: DbConnection) -> set[tuple[str, str]]:
    """(tenant, alarm) of the alarms raised by an event the rules have not seen yet."""
    return {(str(row[0]), str(row[1])) for row in conn.execute(
        "SELECT tenant, coalesce(alarm, id) FROM events WHERE ruled = 0"
        " AND type = 'alarm.raised'").fetchall()}


def ruled_bodies(conn: DbConnection, types: Sequence[str], since: str) -> list[str]:
    """Bodies of the events of ``types`` since ``since`` the rules have seen, in order."""
    rows = conn.execute(
        f"SELECT body FROM events WHERE ruled = 1 AND type IN ({','.join('?' * len(types))})"
        " AND time >= ? ORDER BY seq", (*types, since)).fetchall()
    return [str(row[0]) for row in rows]


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
