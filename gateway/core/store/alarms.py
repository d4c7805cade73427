"""The alarm projection: each alarm's current state, written with the event that changes it.

The ``alarms`` table holds one row per alarm a tenant has seen: its state,
kind, priority, device, resident, who acknowledged, was dispatched, attended
and closed it and when, the outcome, its escalation, the alarms folded into
it, and the seq of the last event that changed it. :meth:`Store.append
<gateway.core.store.base.Store.append>` calls :func:`project` inside the
transaction that stores the events, so the projection and the events commit
together or not at all: there is no moment, and no crash, in which one says
something the other does not.

What an event does to an alarm is :meth:`AlarmRecord.apply
<gateway.core.alarmstate.AlarmRecord.apply>`, the same function the migration
used to fold the history once (:func:`backfill`) and the test that holds the
projection equal to the fold of the history uses.

A fold (``alarm.updated`` with ``data.folded``: a device's second alarm joins
its open one) gives the folded alarm a row that names the alarm it belongs to
(``folded_into``); every later event of the folded alarm applies to that alarm,
and reading the folded alarm's id gives that alarm.

:class:`AlarmIndex` keeps the open alarms in memory, keyed by tenant, device and
state, rebuilt from the table when the store opens and moved forward by the
writer after each commit. Readers get records without history;
:func:`alarm_history` reads one alarm's events when a view needs them (the
operator API's history, a FHIR Task's ``relevantHistory``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ..alarmstate import AlarmRecord, AlarmState, fold_history
from ..model import Actor, DeviceRef, EventAdapter, EventBase, Location, Priority

ALARM_COLUMNS = (
    "tenant", "id", "folded_into", "state", "kind", "priority", "resident", "device",
    "device_ref", "location", "location_text", "text", "raised", "received",
    "acknowledged_at", "acknowledged_by", "dispatched_to", "attended_at", "attended_by",
    "closed_at", "closed_by", "outcome", "escalation_level", "escalated_to",
    "cancel_requested", "repeats", "folded", "folded_count", "first_seq", "last_seq", "last_event",
)

DDL = """
CREATE TABLE alarms (
    tenant            TEXT NOT NULL,
    id                TEXT NOT NULL,
    folded_into       TEXT,
    state             TEXT,
    kind              TEXT,
    priority          TEXT,
    resident          TEXT,
    device            TEXT,
    device_ref        TEXT,
    location          TEXT,
    location_text     TEXT,
    text              TEXT,
    raised            TEXT,
    received          TEXT,
    acknowledged_at   TEXT,
    acknowledged_by   TEXT,
    dispatched_to     TEXT NOT NULL DEFAULT '[]',
    attended_at       TEXT,
    attended_by       TEXT,
    closed_at         TEXT,
    closed_by         TEXT,
    outcome           TEXT,
    escalation_level  INTEGER NOT NULL DEFAULT 0,
    escalated_to      TEXT,
    cancel_requested  INTEGER NOT NULL DEFAULT 0,
    repeats           INTEGER NOT NULL DEFAULT 0,
    folded            TEXT NOT NULL DEFAULT '[]',
    folded_count      INTEGER NOT NULL DEFAULT 0,
    first_seq         INTEGER NOT NULL,
    last_seq          INTEGER NOT NULL,
    last_event        TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX alarms_tenant_state ON alarms (tenant, state);
CREATE INDEX alarms_tenant_device_state ON alarms (tenant, device, state);
CREATE INDEX alarms_folded_into ON alarms (tenant, folded_into)
"""
"""Migration 7 (:mod:`.schema`); :func:`backfill` (migration 8) fills it from the history."""

OPEN_STATES = tuple(str(s) for s in AlarmState if s.open)


# ---------------------------------------------------------------------- rows <-> records


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _actor(value: Any) -> Actor | None:
    return Actor.model_validate_json(value) if value else None


def _actor_json(actor: Actor | None) -> str | None:
    return actor.model_dump_json(exclude_none=True) if actor is not None else None


def record_from_row(row: Any) -> AlarmRecord:
    """The record a projection row holds (without history)."""
    return AlarmRecord(
        tenant=row["tenant"], id=row["id"],
        state=AlarmState(row["state"]) if row["state"] else None,
        kind=row["kind"],
        priority=Priority(row["priority"]) if row["priority"] else None,
        resident=row["resident"],
        device=DeviceRef.model_validate_json(row["device_ref"]) if row["device_ref"] else None,
        location=Location.model_validate_json(row["location"]) if row["location"] else None,
        text=row["text"], raised=_dt(row["raised"]), received=_dt(row["received"]),
        acknowledged_by=_actor(row["acknowledged_by"]),
        acknowledged_at=_dt(row["acknowledged_at"]),
        dispatched_to=[Actor.model_validate(a) for a in json.loads(row["dispatched_to"])],
        attended_by=_actor(row["attended_by"]), attended_at=_dt(row["attended_at"]),
        closed_by=_actor(row["closed_by"]), closed_at=_dt(row["closed_at"]),
        outcome=row["outcome"], escalation_level=int(row["escalation_level"]),
        escalated_to=row["escalated_to"], cancel_requested=bool(row["cancel_requested"]),
        repeats=int(row["repeats"]), folded=list(json.loads(row["folded"])),
    )


def _values(rec: AlarmRecord, *, folded_into: str | None, first_seq: int, last_seq: int,
            last_event: str) -> tuple[Any, ...]:
    loc = rec.location
    return (
        rec.tenant, rec.id, folded_into, str(rec.state) if rec.state else None, rec.kind,
        str(rec.priority) if rec.priority else None, rec.resident,
        rec.device.id if rec.device else None,
        rec.device.model_dump_json(exclude_none=True) if rec.device else None,
        loc.model_dump_json(exclude_none=True) if loc else None,
        (loc.text if loc else None), rec.text, _iso(rec.raised), _iso(rec.received),
        _iso(rec.acknowledged_at), _actor_json(rec.acknowledged_by),
        json.dumps([a.model_dump(mode="json", exclude_none=True) for a in rec.dispatched_to]),
        _iso(rec.attended_at), _actor_json(rec.attended_by), _iso(rec.closed_at),
        _actor_json(rec.closed_by), rec.outcome, rec.escalation_level, rec.escalated_to,
        int(rec.cancel_requested), rec.repeats, json.dumps(rec.folded), len(rec.folded),
        first_seq, last_seq, last_event,
    )


_UPSERT = (
    f"INSERT INTO alarms ({', '.join(ALARM_COLUMNS)}) VALUES"
    f" ({', '.join('?' for _ in ALARM_COLUMNS)}) ON CONFLICT (tenant, id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ALARM_COLUMNS[2:] if c != "first_seq")
)


# ---------------------------------------------------------------------- the write side


class Change:
    """What one transaction did to one alarm, for the index once it commits."""

    __slots__ = ("folded_into", "key", "record")

    def __init__(self, key: tuple[str, str], record: AlarmRecord | None,
                 folded_into: str | None) -> None:
        self.key, self.record, self.folded_into = key, record, folded_into


def _row(conn: Any, tenant: str, alarm: str) -> Any:
    return conn.execute("SELECT * FROM alarms WHERE tenant = ? AND id = ?",
                        (tenant, alarm)).fetchone()


def project(conn: Any, stored: Sequence[tuple[int, EventBase]]) -> list[Change]:
    """Apply newly stored alarm events (seq, event) to the projection, in seq order.

    Runs inside the transaction that stored the events; returns the changes for
    :meth:`AlarmIndex.apply` to take once that transaction has committed.
    """
    changes: list[Change] = []
    for seq, ev in stored:
        if not ev.type.startswith("alarm."):
            continue
        tenant, own = ev.tenant, ev.alarm or ev.id
        folded = getattr(ev.data, "folded", None) if ev.type == "alarm.updated" else None
        row = _row(conn, tenant, own)
        root = own
        if row is not None and row["folded_into"]:
            root = row["folded_into"]
            row = _row(conn, tenant, root)
        rec = record_from_row(row) if row is not None else AlarmRecord(tenant, root)
        if folded is not None and ev.alarm and folded.alarm != root:
            changes += _fold(conn, tenant, folded.alarm, root, rec, seq, ev.id)
        rec.apply(ev)
        conn.execute(_UPSERT, _values(rec, folded_into=None, first_seq=seq, last_seq=seq,
                                      last_event=ev.id))
        changes.append(Change((tenant, root), rec, None))
    return changes


def _fold(conn: Any, tenant: str, alarm: str, into: str, rec: AlarmRecord, seq: int,
          event: str) -> list[Change]:
    """``alarm`` joins ``into``: its row (made if it had none) names ``into`` from now on,
    and so do the rows of alarms folded into it before."""
    row = _row(conn, tenant, alarm)
    own = record_from_row(row) if row is not None else AlarmRecord(tenant, alarm)
    if own.state is not None and own.priority is not None:
        # Its raise's priority applies to the alarm it belongs to, as in the fold of
        # the history (the fold's own priority, when it has one, then overrides it).
        rec.priority = own.priority
    conn.execute(_UPSERT, _values(own, folded_into=into, first_seq=seq, last_seq=seq,
                                  last_event=event))
    moved = [str(r[0]) for r in conn.execute(
        "SELECT id FROM alarms WHERE tenant = ? AND folded_into = ?", (tenant, alarm))]
    conn.execute("UPDATE alarms SET folded_into = ? WHERE tenant = ? AND folded_into = ?",
                 (into, tenant, alarm))
    return [Change((tenant, a), None, into) for a in (alarm, *moved)]


def backfill(conn: Any) -> int:
    """Fold the whole stored history once into the projection (the migration); rows made."""
    events = [(int(r[0]), EventAdapter.validate_json(r[1])) for r in conn.execute(
        "SELECT seq, body FROM events WHERE type LIKE 'alarm.%' ORDER BY seq")]
    records, into, last = fold_history(events)
    first: dict[tuple[str, str], int] = {}
    for seq, ev in events:
        first.setdefault((ev.tenant, ev.alarm or ev.id), seq)
    rows = [_values(rec, folded_into=None, first_seq=first[(rec.tenant, rec.id)],
                    last_seq=last[(rec.tenant, rec.id)][0],
                    last_event=last[(rec.tenant, rec.id)][1]) for rec in records]
    for (tenant, alarm), root in into.items():
        seq, event = last.get((tenant, alarm)) or last[(tenant, root)]
        rows.append(_values(AlarmRecord(tenant, alarm), folded_into=root,
                            first_seq=first.get((tenant, alarm), seq), last_seq=seq,
                            last_event=event))
    conn.executemany(_UPSERT, rows)
    return len(rows)


# ---------------------------------------------------------------------- the read side


def read_alarm(conn: Any, tenant: str, alarm: str) -> AlarmRecord | None:
    """The alarm ``alarm`` belongs to (itself, or the one it was folded into), or None."""
    row = _row(conn, tenant, alarm)
    if row is not None and row["folded_into"]:
        row = _row(conn, tenant, row["folded_into"])
    return record_from_row(row) if row is not None else None


def read_alarms(conn: Any, tenant: str | None = None, *,
                open_only: bool = True) -> list[AlarmRecord]:
    """Alarms (not folded ones, not ones never raised) in the order they were raised."""
    sql = "SELECT * FROM alarms WHERE folded_into IS NULL AND state IS NOT NULL"
    args: list[Any] = []
    if tenant is not None:
        sql += " AND tenant = ?"
        args.append(tenant)
    if open_only:
        sql += f" AND state IN ({', '.join('?' for _ in OPEN_STATES)})"
        args += OPEN_STATES
    return [record_from_row(r) for r in conn.execute(sql + " ORDER BY first_seq", args)]


def folded_into(conn: Any, records: Iterable[AlarmRecord]) -> dict[tuple[str, str], str]:
    """(tenant, folded alarm) -> the alarm of ``records`` it belongs to."""
    roots = {(rec.tenant, rec.id) for rec in records}
    return {(str(row[0]), str(row[1])): str(row[2]) for row in conn.execute(
        "SELECT tenant, id, folded_into FROM alarms WHERE folded_into IS NOT NULL")
        if (row[0], row[2]) in roots}


def alarm_history(conn: Any, records: Iterable[AlarmRecord]) -> None:
    """Fill each record's ``history``: its events and its folded alarms', oldest first."""
    owner: dict[tuple[str, str], AlarmRecord] = {}
    for rec in records:
        rec.history = []
        for a in (rec.id, *rec.folded):
            owner[(rec.tenant, a)] = rec
    found: dict[int, tuple[AlarmRecord, EventBase]] = {}
    for tenant in sorted({t for t, _ in owner}):
        ids = sorted(a for t, a in owner if t == tenant)
        for i in range(0, len(ids), 400):
            part = ids[i:i + 400]
            marks = ", ".join("?" for _ in part)
            for row in conn.execute(
                    "SELECT seq, body FROM events WHERE tenant = ? AND type LIKE 'alarm.%' AND"
                    f" (alarm IN ({marks}) OR (alarm IS NULL AND id IN ({marks})))",
                    (tenant, *part, *part)):
                ev = EventAdapter.validate_json(row[1])
                rec = owner.get((tenant, ev.alarm or ev.id))
                if rec is not None:
                    found[int(row[0])] = (rec, ev)
    for seq in sorted(found):
        rec, ev = found[seq]
        rec.history.append(ev)


class AlarmIndex:
    """The open alarms in memory, by (tenant, id), (tenant, device) and (tenant, state).

    Loaded from the projection when the store opens; the store's writer moves it
    forward after each commit (:meth:`apply`), so a reader never sees an alarm
    state that is not committed. Records handed out are the index's own: treat
    them as read-only (a view that annotates one copies it first).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[tuple[str, str], AlarmRecord] = {}
        self._folded: dict[tuple[str, str], str] = {}  # (tenant, folded alarm) -> its alarm
        self._by_device: dict[tuple[str, str], set[str]] = {}
        self._by_state: dict[tuple[str, str], set[str]] = {}

    def load(self, conn: Any) -> None:
        with self._lock:
            self._open.clear()
            self._folded.clear()
            self._by_device.clear()
            self._by_state.clear()
            for rec in read_alarms(conn):
                self._put(rec)
            for row in conn.execute("SELECT tenant, id, folded_into FROM alarms"
                                    " WHERE folded_into IS NOT NULL"):
                if (row[0], row[2]) in self._open:
                    self._folded[(row[0], row[1])] = row[2]

    def _drop(self, key: tuple[str, str]) -> None:
        old = self._open.pop(key, None)
        if old is None:
            return
        if old.device is not None:
            self._by_device.get((key[0], old.device.id), set()).discard(key[1])
        self._by_state.get((key[0], str(old.state)), set()).discard(key[1])

    def _put(self, rec: AlarmRecord) -> None:
        key = (rec.tenant, rec.id)
        self._drop(key)
        if not rec.is_open:
            self._folded = {k: v for k, v in self._folded.items() if (k[0], v) != key}
            return
        self._open[key] = rec
        if rec.device is not None:
            self._by_device.setdefault((rec.tenant, rec.device.id), set()).add(rec.id)
        self._by_state.setdefault((rec.tenant, str(rec.state)), set()).add(rec.id)

    def apply(self, changes: Iterable[Change]) -> None:
        """Take what a committed transaction did (called by the writer after COMMIT)."""
        with self._lock:
            for change in changes:
                if change.folded_into is not None:
                    self._drop(change.key)
                    if (change.key[0], change.folded_into) in self._open:
                        self._folded[change.key] = change.folded_into
                elif change.record is not None:
                    self._put(change.record)

    def get(self, tenant: str, alarm: str) -> AlarmRecord | None:
        """The open alarm ``alarm`` belongs to, or None (closed, cancelled or unknown)."""
        with self._lock:
            return self._open.get((tenant, self._folded.get((tenant, alarm), alarm)))

    def open(self, tenant: str | None = None) -> list[AlarmRecord]:
        with self._lock:
            return [r for (t, _), r in self._open.items() if tenant is None or t == tenant]

    def by_device(self, tenant: str, device: str) -> list[AlarmRecord]:
        with self._lock:
            return [self._open[(tenant, a)]
                    for a in sorted(self._by_device.get((tenant, device), ()))]

    def by_state(self, tenant: str, state: AlarmState | str) -> list[AlarmRecord]:
        with self._lock:
            return [self._open[(tenant, a)]
                    for a in sorted(self._by_state.get((tenant, str(state)), ()))]

    def __len__(self) -> int:
        return len(self._open)


class AlarmReader:
    """Synchronous reads of the alarm projection, for views that build on it (FHIR Tasks).

    Records come from the ``alarms`` table, with their events as ``history`` when
    asked; nothing is folded from the history."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def alarm(self, tenant: str, alarm: str, *, history: bool = True) -> AlarmRecord | None:
        """The alarm ``alarm`` belongs to (a folded alarm's id gives its alarm), or None."""
        def read(conn: Any) -> AlarmRecord | None:
            rec = read_alarm(conn, tenant, alarm)
            if rec is not None and history:
                alarm_history(conn, [rec])
            return rec

        found: AlarmRecord | None = self._store.read_sync(read)
        return found

    def alarms(self, tenant: str, *, open_only: bool = False,
               history: bool = True) -> list[AlarmRecord]:
        """The tenant's alarms (raised ones, not folded ones), oldest first."""
        def read(conn: Any) -> list[AlarmRecord]:
            recs = read_alarms(conn, tenant, open_only=open_only)
            if history:
                alarm_history(conn, recs)
            return recs

        found: list[AlarmRecord] = self._store.read_sync(read)
        return found
