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

The rules' :class:`AlarmBook` loads the open alarms from the alarm projection (with
their events as history), at start and after a rollback; nothing folds history.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    EventBase,
    SourceRef,
    event_id,
    make_event,
)
from ..store import DbConnection, Store
from ..store.alarms import alarm_history, folded_into, read_alarms
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


# --------------------------------------------------------------------------- settings


def open_alarms(conn: DbConnection) -> tuple[list[AlarmRecord],
                                             dict[tuple[str, str], str]]:
    """The open alarms of the projection with their history, and the alarms folded into
    them ((tenant, folded alarm) -> its alarm), as far as the rules have seen them.

    The projection takes every stored event; an alarm raised by an event the rules
    have not seen yet (stored while no rules ran: the backlog they rule at start) is
    left out, so that the rules meet it as new when they reach that event (and fold
    it, if it repeats an open one). Events the rules have not seen of an alarm they
    know are in its history already, and observing them again changes nothing."""
    unseen = rule_rows.unruled_raises(conn)
    records = [rec for rec in read_alarms(conn) if (rec.tenant, rec.id) not in unseen]
    alarm_history(conn, records)
    return records, folded_into(conn, records)


def tenant_alarm_settings(store: Store, tenant: str) -> AlarmSettings:
    """The tenant's alarm settings from its care configuration (defaults if none)."""
    rows = store.rows("tenants", tenant)
    body = json.loads(rows[0]["body"] or "{}") if rows else {}
    return AlarmSettings.model_validate(body.get("alarms") or {})


# --------------------------------------------------------------------------- the book


class AlarmBook:
    """Open alarms in memory, shared by the alarm rules.

    Loaded from the alarm projection (:mod:`gateway.core.store.alarms`: the open
    alarms, their folded alarms and their events as history) at start and after a
    rollback, then kept current by every rule calling :meth:`observe` for each event
    in the transaction that stores it; observing is idempotent (an event already in an
    alarm's history changes nothing), so the order of rules does not matter for it, and
    an event the projection has already taken is not applied twice.
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
        records, folded = store.read_sync(open_alarms)
        self.records = {(rec.tenant, rec.id): rec for rec in records}
        self.folded = folded
        self._by_device, self._by_kind = {}, {}
        for rec in records:
            self._index(rec)
        self.loaded = True
        log.info("alarm rules: %d open alarm(s) loaded from the alarm projection",
                 len(self.records))

    def reset(self) -> None:
        """Forget everything; the next :meth:`ensure_loaded` reads the projection again."""
        self.records, self.folded, self.loaded = {}, {}, False
        self._by_device, self._by_kind = {}, {}

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

    def load(self, ctx: RuleContext) -> None:
        self.book.ensure_loaded(ctx.store)

    def reset(self) -> None:
        self.book.reset()

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


class Wake:
    """What wakes a rule's timer: set by the rule on the store's writer thread (where
    rules see events), waited for on the event loop (where timers sleep)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def set(self) -> None:
        loop = self._loop
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if loop is None or here is loop:
            self._event.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(self._event.set)

    def clear(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._event.wait()


async def sleep_or_wake(clock: Clock, seconds: float | None, wake: Wake | asyncio.Event) -> None:
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
