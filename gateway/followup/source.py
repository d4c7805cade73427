"""What follow-up reads: a tenant's care data and the stored events of a period.

One read (inside ``Store.read``), nothing written. Events are read by type and time with
a margin (an alarm raised on the last evening may be closed the next morning; a unit
silent since before the period still counts against its availability) and decoded as
plain JSON: follow-up needs a few fields of many events, not validated models.

The bulky kinds are read lean and tallied as they are read, because a municipality has
millions of them a year: doses counted per kind and month without their bodies, lock events
paired into stays with only an unlocking's body read (who opened). Alarms and camera
checks, far fewer, are read whole.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.core.care import Tenant
from gateway.core.store import Store, iso
from gateway.core.store.repos.config import config_rows
from gateway.core.store.repos.events import rows_between

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
MAX_STAY = timedelta(hours=4)
"""A locking later than this after an opening does not end that stay."""
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
class DoorTally:
    """Staff openings in the period and how long each stay lasted, tallied while reading
    (a municipality's lock events are too many to hold one by one)."""

    openings: int = 0
    stays_min: array[float] = field(default_factory=lambda: array("d"))
    residents_opened: set[str] = field(default_factory=set)
    """Residents whose door was unlocked (by anyone) in the period."""


@dataclass
class Source:
    tenant: Tenant
    devices: list[dict[str, Any]] = field(default_factory=list)
    """Configured devices: id, kind, resident, vendor."""
    events: list[Ev] = field(default_factory=list)
    """Events of :data:`TYPES` from ``BEFORE`` the period to ``AFTER`` it, by time."""
    doses: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(``dispensed`` | ``taken`` | ``missed``, local month) -> doses inside the period."""
    doors: DoorTally = field(default_factory=DoorTally)


def staff_opening(data: dict[str, Any]) -> bool:
    """An unlocking by staff: ``by`` is staff, or without ``by`` an app, remote or code."""
    by = data.get("by")
    if isinstance(by, dict):
        return by.get("kind") == "staff"
    return data.get("method") in STAFF_METHODS


def _rows(conn: Any, columns: str, tenant: str, types: Iterable[str], since: datetime,
          until: datetime) -> Any:
    kinds = tuple(types)
    # Stored times keep the offset they were given in, so the text comparison is made a
    # day wider and the exact bounds are applied to the parsed times.
    return rows_between(conn, columns, tenant, kinds, iso(since - timedelta(days=1)),
                        iso(until + timedelta(days=1)))


def load(store: Store, conn: Any, care: Tenant, period: Period) -> Source:
    """The follow-up source of tenant ``care`` for ``period``."""
    tenant = care.id
    devices = []
    for row in config_rows(conn, "devices", tenant):
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
            src.doses[(str(row[0]).removeprefix("medication.dose_"), period.month_of(when))] += 1
    _tally_doors(conn, tenant, period, src.doors)
    return src


def _tally_doors(conn: Any, tenant: str, period: Period, tally: DoorTally) -> None:
    """Each staff opening in the period, and the stay it began: until the next locking of
    the same lock within :data:`MAX_STAY` (rows come in the order they were stored)."""
    opened: dict[str | None, datetime] = {}  # lock -> when staff last opened it
    for row in _rows(conn, "type, device, resident, time, "
                     "CASE WHEN type = 'lock.unlocked' THEN body END", tenant, LOCK_TYPES,
                     period.start, period.end + AFTER):
        when = datetime.fromisoformat(row[3])
        if not period.start <= when < period.end + AFTER:
            continue
        if row[0] == "lock.unlocked":
            if not period.contains(when):
                continue
            if row[2]:
                tally.residents_opened.add(str(row[2]))
            if staff_opening(json.loads(row[4]).get("data") or {}):
                tally.openings += 1
                opened[row[1]] = when
            continue
        start = opened.pop(row[1], None)
        if start is not None and timedelta(0) <= when - start <= MAX_STAY:
            tally.stays_min.append((when - start).total_seconds() / 60)
