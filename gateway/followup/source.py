"""What follow-up reads: a tenant's care data and the stored events of a period.

One read (inside ``Store.read``), nothing written. Events are read by type and time with
a margin (an alarm raised on the last evening may be closed the next morning; a unit
silent since before the period still counts against its availability) and decoded as
plain JSON: follow-up needs a few fields of many events, not validated models.

The bulky kinds are read lean, because a municipality has millions of them a year: doses
as (type, time) without their bodies, lock events as small tuples with only an unlocking's
body read (who opened). Alarms and camera checks, far fewer, are read whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.core.care import Tenant
from gateway.core.store import Store, iso

from .period import Period

TYPES = (
    "alarm.raised", "alarm.acknowledged", "alarm.attended", "alarm.closed", "alarm.cancelled",
    "device.online", "supervision.started", "supervision.observation", "visit.requested",
)
"""Event types read whole (docs/followup.md names which figure comes from which)."""
DOSE_TYPES = ("medication.dose_dispensed", "medication.dose_taken", "medication.dose_missed")
LOCK_TYPES = ("lock.unlocked", "lock.locked")
STAFF_METHODS = frozenset({"app", "remote", "code"})

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


@dataclass(frozen=True, slots=True)
class LockEv:
    """A lock event: ``staff`` is whether an unlocking was a member of staff's."""

    unlocked: bool
    time: datetime
    device: str | None
    resident: str | None
    staff: bool


@dataclass
class Source:
    tenant: Tenant
    devices: list[dict[str, Any]] = field(default_factory=list)
    """Configured devices: id, kind, resident, vendor."""
    events: list[Ev] = field(default_factory=list)
    """Events of :data:`TYPES` from ``BEFORE`` the period to ``AFTER`` it, by time."""
    doses: list[tuple[str, datetime]] = field(default_factory=list)
    """(``dispensed`` | ``taken`` | ``missed``, time) inside the period."""
    locks: list[LockEv] = field(default_factory=list)
    """Lock events from the period's start to ``AFTER`` its end, by time."""


def staff_opening(data: dict[str, Any]) -> bool:
    """An unlocking by staff: ``by`` is staff, or without ``by`` an app, remote or code."""
    by = data.get("by")
    if isinstance(by, dict):
        return by.get("kind") == "staff"
    return data.get("method") in STAFF_METHODS


def _rows(conn: Any, columns: str, tenant: str, types: Iterable[str], since: datetime,
          until: datetime) -> Any:
    kinds = tuple(types)
    marks = ", ".join("?" for _ in kinds)
    # Stored times keep the offset they were given in, so the text comparison is made a
    # day wider and the exact bounds are applied to the parsed times.
    return conn.execute(
        f"SELECT {columns} FROM events WHERE tenant = ? AND type IN ({marks}) "  # fixed names
        "AND time >= ? AND time < ? ORDER BY seq",
        (tenant, *kinds, iso(since - timedelta(days=1)), iso(until + timedelta(days=1))))


def load(store: Store, conn: Any, care: Tenant, period: Period) -> Source:
    """The follow-up source of tenant ``care`` for ``period``."""
    tenant = care.id
    devices = []
    for row in store.rows("devices", tenant):
        body = json.loads(row["body"] or "{}")
        devices.append({"id": row["id"], "kind": row["kind"], "resident": row["resident"],
                        "vendor": body.get("vendor")})
    src = Source(care, devices)
    since, until = period.start - BEFORE, period.end + AFTER
    for row in _rows(conn, "type, resident, device, alarm, time, body", tenant, TYPES,
                     since, until):
        when = datetime.fromisoformat(row[4])
        if not since <= when < until:
            continue
        body = json.loads(row[5])
        dev = body.get("device") or {}
        src.events.append(Ev(str(row[0]), when, row[1], row[2], dev.get("vendor"), row[3],
                             body.get("data") or {}))
    src.events.sort(key=lambda e: e.time)
    for row in _rows(conn, "type, time", tenant, DOSE_TYPES, period.start, period.end):
        when = datetime.fromisoformat(row[1])
        if period.contains(when):
            src.doses.append((str(row[0]).removeprefix("medication.dose_"), when))
    for row in _rows(conn, "type, device, resident, time, "
                     "CASE WHEN type = 'lock.unlocked' THEN body END", tenant, LOCK_TYPES,
                     period.start, period.end + AFTER):
        when = datetime.fromisoformat(row[3])
        if not period.start <= when < period.end + AFTER:
            continue
        unlocked = row[0] == "lock.unlocked"
        staff = unlocked and staff_opening(json.loads(row[4]).get("data") or {})
        src.locks.append(LockEv(unlocked, when, row[1], row[2], staff))
    src.locks.sort(key=lambda e: e.time)
    return src
