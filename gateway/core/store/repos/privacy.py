"""Retention: deleting what is past its period, keeping what must stay."""

from __future__ import annotations

from typing import Any

from ..records import DbConnection

OPEN_ALARM_SQL = """
SELECT DISTINCT e.alarm FROM events e
WHERE e.tenant = ? AND e.alarm IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM events f WHERE f.tenant = e.tenant AND f.alarm = e.alarm
    AND f.type IN ('alarm.closed', 'alarm.cancelled'))
"""


def purge_events(conn: DbConnection, cutoff: str) -> int:
    """Delete events received before ``cutoff``, except those still waiting in an outbox
    and every event of an alarm still open; then the outbox rows nothing refers to.
    Returns how many events went."""
    gone = 0
    tenants = [r[0] for r in conn.execute("SELECT DISTINCT tenant FROM events")]
    for tenant in tenants:
        open_alarms = [r[0] for r in conn.execute(OPEN_ALARM_SQL, (tenant,))]
        marks = ",".join("?" * len(open_alarms))
        sql = ("DELETE FROM events WHERE tenant = ? AND received < ? "
               "AND seq NOT IN (SELECT seq FROM outbox WHERE state = 'pending')")
        args: list[Any] = [tenant, cutoff]
        if open_alarms:
            sql += f" AND (alarm IS NULL OR alarm NOT IN ({marks}))"
            args += open_alarms
        gone += conn.execute(sql, args).rowcount
    conn.execute("DELETE FROM outbox WHERE state != 'pending' AND seq NOT IN "
                 "(SELECT seq FROM events)")
    return gone
