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
from .store.repos import audit as audit_rows
from .store.repos import config, frames
from .store.repos import events as event_rows
from .store.repos import privacy as retention


def resident_context(tenant: str, resident: str) -> str:
    """What a resident's encrypted values are bound to (AES-GCM associated data)."""
    return f"resident:{tenant}:{resident}"


def export_resident(store: Store, cipher: PiiCipher | None, tenant: str,
                    resident: str) -> dict[str, Any] | None:
    """Everything Navet holds about ``resident`` of ``tenant`` (None if unknown)."""

    def read(conn: DbConnection) -> dict[str, Any] | None:
        body = config.row_body(conn, "residents", {"tenant": tenant, "id": resident})
        if body is None:
            return None
        record = json.loads(body)
        sealed = record.pop("personal_number_enc", None)
        if sealed and cipher is not None:
            record["personal_number"] = cipher.decrypt(
                sealed, context=resident_context(tenant, resident))
        devices = config.resident_devices(conn, tenant, resident)
        for d in devices:
            d["body"] = json.loads(d["body"] or "{}")
        plans = [json.loads(b) for b in config.resident_plans(conn, tenant, resident)]
        events = [json.loads(b) for b in event_rows.resident_bodies(conn, tenant, resident)]
        tenant_body = json.loads(config.row_body(conn, "tenants", {"id": tenant}) or "{}")
        mine = {k: [x for x in tenant_body.get(k, []) if x.get("resident") == resident]
                for k in ("consents", "relatives", "supervision", "geofences", "passive")}
        audit = audit_rows.resident_entries(conn, tenant, resident)
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
            counts["events"] = retention.purge_events(conn, cutoff)
        if frames_retention_days > 0:
            cutoff = (now - timedelta(days=frames_retention_days)).isoformat()
            counts.update(frames.purge(conn, cutoff))
        return counts

    return await store.write(job)
