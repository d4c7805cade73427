"""Retention: deleting what is past its period, keeping what must stay."""

from __future__ import annotations

from typing import Any

from ..records import DbConnection

OPEN_ALARM_SQL = """
SELECT a.id FROM alarms a WHERE a.tenant = ? AND (
    a.state IN ('raised', 'acknowledged', 'dispatched', 'attended')
    OR a.folded_into IN (SELECT o.id FROM alarms o WHERE o.tenant = a.tenant
                         AND o.state IN ('raised', 'acknowledged', 'dispatched', 'attended')))
"""
"""Open alarms and the alarms folded into them, from the alarm projection: retention keeps
their events."""


def purge_events(conn: DbConnection, cutoff: str) -> int:
    """Delete events received before ``cutoff``, except those still waiting in an outbox
    and every event of an alarm still open (or folded into one); then the outbox rows
    and the closed alarms' projection rows nothing refers to.
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
    # The projection row of an alarm that is over and whose events are all gone
    # goes with them (it names the resident and the device).
    conn.execute(
        "DELETE FROM alarms WHERE (state IS NULL OR state IN ('closed', 'cancelled')"
        " OR folded_into IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM events e"
        " WHERE e.tenant = alarms.tenant AND (e.alarm = alarms.id OR e.id = alarms.id))"
        " AND NOT EXISTS (SELECT 1 FROM alarms o WHERE o.tenant = alarms.tenant"
        " AND o.folded_into = alarms.id)")
    return gone
