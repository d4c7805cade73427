"""Personal data: what Navet holds about one resident (export) and how long (retention).

- :func:`export_resident` gathers everything held about one resident: the
  resident record with the personal number decrypted, devices, plans,
  consents, relatives, every stored event that names the resident, and audit
  entries about the resident. This answers a data subject's request for
  access (GDPR art. 15) in one JSON document.
- :func:`purge` deletes events older than a retention period, except what
  must stay: events still waiting in an outbox (a consumer has not got them
  yet) and every event of an alarm that is still open. Raw frames and dead
  letters go after their own (shorter) period. The per-kind periods, the
  audit log's among them, are :mod:`gateway.core.retention`'s.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from .clock import FakeClock
from .security.pii import PiiCipher
from .settings import RetentionSettings
from .store import DbConnection, Store
from .store.repos import audit as audit_rows
from .store.repos import config
from .store.repos import events as event_rows


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
    """Delete events older than ``retention_days`` and raw frames and dead letters older
    than ``frames_retention_days`` (0 keeps them), as of ``now``; counts of what went.
    The per-kind rules and settings are :mod:`gateway.core.retention`'s; this is the
    old two-period form of them."""
    from .retention import Pruner

    periods = RetentionSettings(
        events_days=retention_days, heartbeats_days=retention_days,
        frames_days=frames_retention_days, dead_letters_days=frames_retention_days,
        outbox_days=0, sessions_days=0, audit_days=0)
    went = await Pruner(store, FakeClock(now), periods).run()
    return {"events": went["events"].rows + went["heartbeats"].rows,
            "frames": went["frames"].rows, "dead_letters": went["dead_letters"].rows}
