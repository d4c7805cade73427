"""The alarm lifecycle rules: the state machine (:mod:`gateway.core.alarmstate`), the
rules' book of open alarms, and the fold of repeated alarms.

States and the events that move them (every transition carries who and when)::

    raised --acknowledged--> acknowledged --dispatched--> dispatched --attended--> attended
      |                           |    \\______________________attended___________/   |
      |                           +----------closed------+-------closed--------------+--> closed
      +--cancelled--> cancelled   (resident or reset, only before anyone acknowledged)

``alarm.escalated`` does not change the state (it raises ``escalation_level``);
``alarm.updated`` only adds information. The fold is lenient on purpose: a
stored event is a fact, so one that does not fit (a device cancel after an
operator acknowledged) stays in the history without moving the state; the
command API (:mod:`gateway.core.alarms`) is where illegal transitions are refused.

Alarm identity: an event belongs to alarm ``event.alarm``; an ``alarm.raised``
without one starts an alarm whose id is its own event id. A second
``alarm.raised`` with the id of an alarm already known is a repeat and counts
as an update. A new alarm of the same kind from the same device while one is
open is folded into the open one by :class:`LifecycleRule` (see there): Navet
stores ``alarm.updated`` with ``data.folded`` on the open alarm, and from then
on the folded alarm's id resolves to the open one, in the rules' book and in
the alarm projection (:mod:`gateway.core.store.alarms`) that every reader uses.
Its state is the open alarm's state, so a device is never told its second press
was handled while nobody has taken the first.

:func:`load_alarms` folds alarms from stored events; only the rules' book uses
it, once at start, to see the open alarms as the rules last saw them (``ruled``
events only). Nothing else folds history.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..alarmstate import PRIORITY_ORDER as PRIORITY_ORDER  # re-exported: the state's home
from ..alarmstate import AlarmRecord
from ..alarmstate import AlarmState as AlarmState
from ..care import AlarmSettings
from ..clock import Clock
from ..model import (
    Actor,
    ActorKind,
    DeviceRef,
    EventAdapter,
    EventBase,
    SourceRef,
    event_id,
    make_event,
)
from ..store import DbConnection, Store
from ..store.repos import rules as rule_rows
from .engine import RuleContext

log = logging.getLogger(__name__)

SYSTEM = Actor(kind=ActorKind.SYSTEM, id="navet", name="Navet")
"""The actor of everything Navet decides itself (technical alarms, automatic closes)."""

NAVET = "navet"


# --------------------------------------------------------------------------- derived events


def derive(
    event_type: str,
    rec: AlarmRecord,
    *,
    transition: str,
    data: Mapping[str, Any],
    time: datetime,
    reason: str = "",
) -> EventBase:
    """An event Navet emits about ``rec``; the id comes from alarm + transition + reason.

    The same decision made twice (a replay, a restart, a repeated command) gets
    the same id, and the store keeps the first.
    """
    return make_event(
        event_type, tenant=rec.tenant, time=time,
        source=SourceRef(adapter=NAVET, protocol=NAVET, ref=rec.id), data=data,
        device=rec.device, resident=rec.resident, alarm=rec.id, priority=rec.priority,
        location=rec.location, id=event_id(NAVET, rec.tenant, rec.id, transition, reason),
    )


def close_event(rec: AlarmRecord, *, by: Actor, outcome: str, note: str | None,
                time: datetime) -> EventBase:
    """``alarm.closed``; one id per alarm whoever closes it, so an alarm closes once."""
    return derive("alarm.closed", rec, transition="closed", time=time,
                  data={"by": by, "outcome": outcome, "note": note})


# --------------------------------------------------------------------------- loading


def load_alarms(
    conn: DbConnection,
    *,
    tenant: str | None = None,
    alarm: str | None = None,
    open_only: bool = True,
    ruled_only: bool = False,
) -> list[AlarmRecord]:
    """Fold alarms from the store. ``ruled_only``: as the rules have seen them so far.

    An alarm folded into another (``alarm.updated`` with ``data.folded``) is no
    alarm of its own: its events join the alarm it was folded into, and asking
    for it by id gives that alarm.
    """
    if alarm is not None:
        return _load_one(conn, tenant, alarm, open_only=open_only, ruled_only=ruled_only)
    records = _fold(_select(conn, tenant=tenant, open_only=open_only,
                            ruled_only=ruled_only))
    found = [r for r in records if r.state is not None and (r.is_open or not open_only)]
    # An alarm folded into one that is closed meanwhile: the fold was not read above (it
    # is stored on the closed alarm), so ask for it. Only open alarms from devices can be.
    return [r for r in found if not (open_only and r.history and _foldable(r.history[0])
                                     and _folded_into(conn, r.tenant, r.id, r.device,
                                                      ruled_only=ruled_only))]


def _select(conn: DbConnection, *, tenant: str | None, alarm: str | None = None,
            alarms: list[str] | None = None, open_only: bool,
            ruled_only: bool) -> list[tuple[int, EventBase]]:
    return [(seq, EventAdapter.validate_json(body)) for seq, body in rule_rows.alarm_events(
        conn, tenant=tenant, alarm=alarm, alarms=alarms or (), open_only=open_only,
        ruled_only=ruled_only)]


def _fold(events: list[tuple[int, EventBase]]) -> list[AlarmRecord]:
    """Records from events in storage order; a folded alarm's events join its alarm."""
    into: dict[tuple[str, str], str] = {}
    for _, ev in events:
        folded = getattr(ev.data, "folded", None) if ev.type == "alarm.updated" else None
        if folded is not None and ev.alarm:
            into[(ev.tenant, folded.alarm)] = ev.alarm
    records: dict[tuple[str, str], AlarmRecord] = {}
    for _, ev in sorted(events, key=lambda pair: pair[0]):
        key = (ev.tenant, ev.alarm or ev.id)
        key = (key[0], into.get(key, key[1]))
        records.setdefault(key, AlarmRecord(*key)).apply(ev)
    return list(records.values())


def _foldable(ev: EventBase) -> bool:
    """Could the alarm this event raised have been folded? (a device's own alarm)"""
    return ev.type == "alarm.raised" and ev.device is not None and ev.source.adapter != NAVET


def _folded_into(conn: DbConnection, tenant: str, alarm: str, device: DeviceRef | None, *,
                 ruled_only: bool = False) -> str | None:
    """The alarm that ``alarm`` was folded into, or None.

    The fold is an ``alarm.updated`` of the same device on the other alarm; the
    body is only read for updates of that device that mention a fold.
    """
    if device is None:
        return None
    rows = rule_rows.fold_updates(conn, tenant, device.id, ruled_only=ruled_only)
    for row in rows:
        folded = getattr(EventAdapter.validate_json(row[1]).data, "folded", None)
        if folded is not None and folded.alarm == alarm and row[0]:
            return str(row[0])
    return None


def _load_one(conn: DbConnection, tenant: str | None, alarm: str, *, open_only: bool,
              ruled_only: bool) -> list[AlarmRecord]:
    """One alarm by id (a folded alarm's id gives the alarm it was folded into)."""
    head = rule_rows.raised(conn, alarm, tenant)
    root = alarm
    if head is not None:
        raised = EventAdapter.validate_json(head[1])
        if _foldable(raised):
            root = _folded_into(conn, str(head[0]), alarm, raised.device,
                                ruled_only=ruled_only) or alarm
    events = _select(conn, tenant=tenant, alarm=root, open_only=open_only,
                     ruled_only=ruled_only)
    folded = sorted({f.alarm for _, ev in events if ev.type == "alarm.updated"
                     and (f := getattr(ev.data, "folded", None)) is not None})
    if events and folded:  # the folded alarms' own events (a cancel, an update ...)
        events += _select(conn, tenant=tenant, alarms=folded, open_only=False,
                          ruled_only=ruled_only)
    return [r for r in _fold(events) if r.id == root and r.state is not None
            and (r.is_open or not open_only)]


def tenant_alarm_settings(store: Store, tenant: str) -> AlarmSettings:
    """The tenant's alarm settings from its care configuration (defaults if none)."""
    rows = store.rows("tenants", tenant)
    body = json.loads(rows[0]["body"] or "{}") if rows else {}
    return AlarmSettings.model_validate(body.get("alarms") or {})


# --------------------------------------------------------------------------- the book


class AlarmBook:
    """Open alarms in memory, shared by the alarm rules.

    Loaded once from the store (alarms as the rules last saw them), then kept
    current by every rule calling :meth:`observe` for each event; observing is
    idempotent, so the order of rules does not matter for it.
    """

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], AlarmRecord] = {}
        self.folded: dict[tuple[str, str], str] = {}  # (tenant, folded alarm) -> its alarm
        self.loaded = False
        # open alarms by (tenant, device) and by (tenant, kind): found without a scan
        self._by_device: dict[tuple[str, str], set[str]] = {}
        self._by_kind: dict[tuple[str, str], set[str]] = {}

    def ensure_loaded(self, store: Store) -> None:
        if self.loaded:
            return
        for rec in store.read_sync(lambda conn: load_alarms(conn, ruled_only=True)):
            self.records[(rec.tenant, rec.id)] = rec
            self._index(rec)
            for alarm in rec.folded:
                self.folded[(rec.tenant, alarm)] = rec.id
        self.loaded = True
        log.info("alarm rules: %d open alarm(s) restored from the store", len(self.records))

    def fold(self, tenant: str, alarm: str, into: str) -> None:
        """From now on ``alarm`` is part of ``into``: its events apply to ``into``."""
        self.folded[(tenant, alarm)] = into
        self._unindex(self.records.pop((tenant, alarm), None))

    def folds(self, rec: AlarmRecord) -> int:
        """How many alarms have been folded into ``rec`` so far."""
        return sum(1 for (t, _), into in self.folded.items() if (t, into) == (rec.tenant, rec.id))

    def key(self, tenant: str, alarm: str) -> tuple[str, str]:
        return (tenant, self.folded.get((tenant, alarm), alarm))

    def observe(self, ev: EventBase) -> AlarmRecord | None:
        if not ev.type.startswith("alarm."):
            return None
        folded = getattr(ev.data, "folded", None) if ev.type == "alarm.updated" else None
        if folded is not None and ev.alarm:
            self.fold(ev.tenant, folded.alarm, ev.alarm)
        key = self.key(ev.tenant, ev.alarm or ev.id)
        rec = self.records.get(key)
        if rec is None:
            if ev.type != "alarm.raised" or key[1] != (ev.alarm or ev.id):
                return None  # about an alarm that is closed (and forgotten) or unknown
            rec = self.records[key] = AlarmRecord(*key)
        self._unindex(rec)
        rec.apply(ev)
        if not rec.is_open:
            del self.records[key]
            if self.folded:
                self.folded = {k: v for k, v in self.folded.items() if (k[0], v) != key}
        else:
            self._index(rec)
        return rec

    def _index(self, rec: AlarmRecord) -> None:
        if rec.device is not None:
            self._by_device.setdefault((rec.tenant, rec.device.id), set()).add(rec.id)
        if rec.kind:
            self._by_kind.setdefault((rec.tenant, rec.kind), set()).add(rec.id)

    def _unindex(self, rec: AlarmRecord | None) -> None:
        if rec is None:
            return
        for index, key in ((self._by_device, (rec.tenant, rec.device.id) if rec.device else None),
                           (self._by_kind, (rec.tenant, rec.kind) if rec.kind else None)):
            ids = index.get(key) if key is not None else None
            if ids is not None:
                ids.discard(rec.id)
                if not ids:
                    del index[key]  # type: ignore[arg-type]

    def get(self, tenant: str, alarm: str) -> AlarmRecord | None:
        return self.records.get(self.key(tenant, alarm))

    def open_records(self) -> list[AlarmRecord]:
        return [r for r in self.records.values() if r.is_open]

    def find_open(self, tenant: str, device: str, kind: str) -> AlarmRecord | None:
        """The device's open alarm of ``kind`` (from the index: no scan of the book)."""
        for alarm in sorted(self._by_device.get((tenant, device), ())):
            rec = self.records.get((tenant, alarm))
            if rec is not None and rec.is_open and rec.kind == kind:
                return rec
        return None

    def open_of_kind(self, tenant: str, kind: str) -> list[AlarmRecord]:
        """The tenant's open alarms of ``kind`` (from the index: no scan of the book)."""
        found = (self.records.get((tenant, a)) for a in sorted(self._by_kind.get((tenant, kind),
                                                                                 ())))
        return [r for r in found if r is not None and r.is_open]


class LifecycleRule:
    """Keeps the book of open alarms and folds a device's repeated alarms into one.

    A device that raises a *new* alarm (new alarm id) of the same kind while its
    previous one is still open (a resident pressing the button again while
    waiting) does not make a second alarm for operators: Navet adds an
    ``alarm.updated`` to the open alarm with ``data.folded`` (the newcomer's
    id and ref, and how many alarms were folded so far). Nothing is cancelled:
    the newcomer now *belongs* to the open alarm and shares its state, so a
    protocol adapter tells the device its second press was handled only when a
    person has taken the alarm (issue 12). Run this rule before the other alarm
    rules.
    """

    name = "alarm-lifecycle"

    def __init__(self, book: AlarmBook | None = None) -> None:
        self.book = book or AlarmBook()

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self.book.ensure_loaded(ctx.store)
        derived: list[EventBase] = []
        key = (event.tenant, event.alarm or event.id)
        if (event.type == "alarm.raised" and event.source.adapter != NAVET
                and event.device is not None and self.book.key(*key) not in self.book.records):
            kind = str(event.data.kind)  # type: ignore[attr-defined]  # alarm.raised body
            first = self.book.find_open(event.tenant, event.device.id, kind)
            if first is not None:
                now = event.received or event.time
                text = event.data.text  # type: ignore[attr-defined]
                derived = [
                    derive("alarm.updated", first, transition="updated", reason=key[1], time=now,
                           data={"text": (f"raised again by the device (alarm {key[1]})"
                                          + (f": {text}" if text else ""))[:500],
                                 "folded": {"alarm": key[1], "ref": event.source.ref,
                                            "repeats": self.book.folds(first) + 1}}),
                ]
                self.book.fold(event.tenant, key[1], first.id)
        self.book.observe(event)
        return derived


# --------------------------------------------------------------------------- timers


async def sleep_or_wake(clock: Clock, seconds: float | None, wake: asyncio.Event) -> None:
    """Sleep ``seconds`` on ``clock`` (forever if None), or until ``wake`` is set."""
    if wake.is_set():
        return
    tasks: list[asyncio.Future[Any]] = [asyncio.ensure_future(wake.wait())]
    if seconds is not None:
        tasks.append(asyncio.ensure_future(clock.sleep(max(0.0, seconds))))
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
