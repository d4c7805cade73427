"""What follow-up reads: a tenant's care data and the stored events of a period.

One read (inside ``Store.read``), nothing written. Events are read by type and time with
a margin (an alarm raised on the last evening may be closed the next morning; a unit
silent since before the period still counts against its availability) and decoded as
plain JSON: follow-up needs a few fields of many events, not validated models.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.core.care import Tenant
from gateway.core.store import Store, iso

from .period import Period

TYPES = (
    "alarm.raised", "alarm.acknowledged", "alarm.attended", "alarm.closed", "alarm.cancelled",
    "device.online", "supervision.started", "supervision.observation", "visit.requested",
    "medication.dose_dispensed", "medication.dose_taken", "medication.dose_missed",
    "lock.unlocked", "lock.locked",
)
"""The event types any figure is computed from (docs/followup.md names which from which)."""

BEFORE = timedelta(days=62)
"""How far before the period an open technical episode is looked for."""
AFTER = timedelta(days=7)
"""How far after the period an alarm's handling, or a lock's next locking, is looked for."""


@dataclass(frozen=True, slots=True)
class Ev:
    """The fields of a stored event follow-up uses."""

    type: str
    time: datetime
    resident: str | None
    device: str | None
    vendor: str | None
    alarm: str | None
    data: dict[str, Any]


@dataclass
class Source:
    tenant: Tenant
    devices: list[dict[str, Any]] = field(default_factory=list)
    """Configured devices: id, kind, resident, vendor."""
    events: list[Ev] = field(default_factory=list)
    """Events of :data:`TYPES` from ``BEFORE`` the period to ``AFTER`` it, by time."""


def load(store: Store, conn: Any, care: Tenant, period: Period) -> Source:
    """The follow-up source of tenant ``care`` for ``period``."""
    tenant = care.id
    devices = []
    for row in store.rows("devices", tenant):
        body = json.loads(row["body"] or "{}")
        devices.append({"id": row["id"], "kind": row["kind"], "resident": row["resident"],
                        "vendor": body.get("vendor")})
    # Stored times keep the offset they were given in, so the text comparison is made a
    # day wider and the exact bounds are applied to the parsed times.
    since, until = period.start - BEFORE, period.end + AFTER
    marks = ", ".join("?" for _ in TYPES)
    rows = conn.execute(
        f"SELECT type, resident, device, alarm, time, body FROM events "  # fixed names
        f"WHERE tenant = ? AND type IN ({marks}) AND time >= ? AND time < ? ORDER BY seq",
        (tenant, *TYPES, iso(since - timedelta(days=1)), iso(until + timedelta(days=1))),
    ).fetchall()
    events = []
    for row in rows:
        when = datetime.fromisoformat(row[4])
        if not since <= when < until:
            continue
        body = json.loads(row[5])
        dev = body.get("device") or {}
        events.append(Ev(str(row[0]), when, row[1], row[2], dev.get("vendor"), row[3],
                         body.get("data") or {}))
    events.sort(key=lambda e: e.time)
    return Source(care, devices, events)
