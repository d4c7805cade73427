"""Personal data: what Navet holds about one resident (export) and how long (retention).

- :func:`export_resident` gathers everything held about one resident: the
  resident record with the personal number decrypted, devices, plans,
  consents, relatives, every stored event that names the resident, and audit
  entries about the resident. This answers a data subject's request for
  access (GDPR art. 15) in one JSON document.
- :func:`purge` deletes events older than the retention period, except what
  must stay: events still waiting in an outbox (a consumer has not got them
  yet) and every event of an alarm that is still open. Raw frames and dead
  letters go after their own (shorter) period. The audit log is not touched
  here: access logs are kept for their own, longer period (see docs/security.md).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from .security.pii import PiiCipher
from .store import DbConnection, Store

OPEN_ALARM_SQL = """
SELECT a.id FROM alarms a WHERE a.tenant = ? AND (
    a.state IN ('raised', 'acknowledged', 'dispatched', 'attended')
    OR a.folded_into IN (SELECT o.id FROM alarms o WHERE o.tenant = a.tenant
                         AND o.state IN ('raised', 'acknowledged', 'dispatched', 'attended')))
"""
"""Open alarms and the alarms folded into them, from the alarm projection: retention keeps
their events."""


def resident_context(tenant: str, resident: str) -> str:
    """What a resident's encrypted values are bound to (AES-GCM associated data)."""
    return f"resident:{tenant}:{resident}"


def export_resident(store: Store, cipher: PiiCipher | None, tenant: str,
                    resident: str) -> dict[str, Any] | None:
    """Everything Navet holds about ``resident`` of ``tenant`` (None if unknown)."""

    def read(conn: DbConnection) -> dict[str, Any] | None:
        row = conn.execute("SELECT body FROM residents WHERE tenant = ? AND id = ?",
                           (tenant, resident)).fetchone()
        if row is None:
            return None
        record = json.loads(row["body"] or "{}")
        sealed = record.pop("personal_number_enc", None)
        if sealed and cipher is not None:
            record["personal_number"] = cipher.decrypt(
                sealed, context=resident_context(tenant, resident))
        devices = [dict(r) for r in conn.execute(
            "SELECT id, adapter, address, kind, last_seen, body FROM devices "
            "WHERE tenant = ? AND resident = ? ORDER BY id", (tenant, resident))]
        for d in devices:
            d["body"] = json.loads(d["body"] or "{}")
        plans = [json.loads(r["body"]) for r in conn.execute(
            "SELECT body FROM plans WHERE tenant = ? AND resident = ? ORDER BY id",
            (tenant, resident))]
        events = [json.loads(r["body"]) for r in conn.execute(
            "SELECT body FROM events WHERE tenant = ? AND resident = ? ORDER BY seq",
            (tenant, resident))]
        tenant_row = conn.execute("SELECT body FROM tenants WHERE id = ?",
                                  (tenant,)).fetchone()
        tenant_body = json.loads(tenant_row["body"] or "{}") if tenant_row else {}
        mine = {k: [x for x in tenant_body.get(k, []) if x.get("resident") == resident]
                for k in ("consents", "relatives", "supervision", "geofences", "passive")}
        audit = [dict(r) for r in conn.execute(
            "SELECT * FROM audit_log WHERE tenant = ? AND resident = ? ORDER BY seq",
            (tenant, resident))]
        return {"tenant": tenant, "resident": {"id": resident, **record},
                "devices": devices, "plans": plans, **mine, "events": events, "audit": audit}

    return store.read_sync(read)


async def purge(store: Store, now: datetime, *, retention_days: int,
                frames_retention_days: int) -> dict[str, int]:
    """Delete what is past its retention period. Returns counts of what went."""

    def job(conn: DbConnection) -> dict[str, int]:
        counts = {"events": 0, "frames": 0, "dead_letters": 0}
        if retention_days > 0:
            cutoff = (now - timedelta(days=retention_days)).isoformat()
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
                counts["events"] += conn.execute(sql, args).rowcount
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
        if frames_retention_days > 0:
            cutoff = (now - timedelta(days=frames_retention_days)).isoformat()
            counts["dead_letters"] = conn.execute(
                "DELETE FROM dead_letters WHERE received < ?", (cutoff,)).rowcount
            counts["frames"] = conn.execute(
                "DELETE FROM frames WHERE received < ? AND ref NOT IN "
                "(SELECT frame FROM dead_letters)", (cutoff,)).rowcount
        return counts

    return await store.write(job)
