"""What operators and staff do with alarms: acknowledge, dispatch, attend, close, note.

``AlarmService`` is the command side of the alarm lifecycle
(:mod:`gateway.core.rules.alarms` draws the state machine) and the query side
for open alarms. It knows nothing of HTTP; the operator API calls it and maps
:class:`~gateway.errors.TransitionError` to 409 and
:class:`~gateway.errors.UnknownAlarmError` to 404.

Queries and commands read the alarm projection (:mod:`gateway.core.store.alarms`):
the ``alarms`` table and its in-memory index of open alarms, written in the
transaction of the event that changes an alarm, so they never lag behind the
store and never fold history. Commands refuse what does not fit that state with an error naming it,
and store the transition as an event with who and when. They are idempotent:
each transition has a deterministic id (alarm + transition [+ target]), so the
same command repeated by the same actor returns the event already stored;
the same transition by someone else is refused (it is stale). Because the id
does not include the actor, two operators racing to acknowledge cannot both
win even across gateway instances: the store keeps the first.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from gateway.errors import TransitionError, UnknownAlarmError

from .clock import Clock
from .model import Actor, AlarmOutcome, EventBase
from .rules.alarms import (
    AlarmRecord,
    AlarmState,
    close_event,
    derive,
    tenant_alarm_settings,
)
from .rules.escalation import annotate
from .store import Store
from .store.alarms import AlarmReader, alarm_history, read_alarm

Emit = Callable[[Sequence[EventBase]], Awaitable[Any]]

R, A, D, T = (AlarmState.RAISED, AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED,
              AlarmState.ATTENDED)
ALLOWED: dict[str, frozenset[AlarmState]] = {
    "acknowledge": frozenset({R}),
    "dispatch": frozenset({A, D}),
    "attend": frozenset({A, D}),
    "close": frozenset({A, D, T}),
    "note": frozenset({R, A, D, T}),
}
"""Command -> states it may start from. Everything else is refused."""

HINTS = {
    ("dispatch", R): "acknowledge it first",
    ("attend", R): "acknowledge it first",
    ("close", R): "acknowledge it first",
}


class AlarmService:
    def __init__(self, store: Store, clock: Clock, emit: Emit) -> None:
        self.store = store
        self.clock = clock
        self.emit = emit
        self.reader = AlarmReader(store)
        """Synchronous reads of the projection (the FHIR facade's Tasks)."""
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    # ------------------------------------------------------------------ queries

    async def alarm(self, tenant: str, alarm: str, *,
                    history: bool = True) -> AlarmRecord | None:
        """One alarm of ``tenant``, open or not (None if unknown); a folded alarm's id gives
        the alarm it was folded into. ``history``: with its events, oldest first."""
        def read(conn: Any) -> AlarmRecord | None:
            rec = read_alarm(conn, tenant, alarm)
            if rec is not None and history:
                alarm_history(conn, [rec])
            return rec

        found = await self.store.read(read)
        if found is None:
            return None
        return annotate(found, tenant_alarm_settings(self.store, tenant), self.clock.now())

    async def open_alarms(self, tenant: str, *, history: bool = True) -> list[AlarmRecord]:
        """Open alarms of ``tenant``, most urgent first, then oldest first (from the index)."""
        records = [dataclasses.replace(r, dispatched_to=list(r.dispatched_to),
                                       folded=list(r.folded), history=[])
                   for r in self.store.alarm_index.open(tenant)]
        if history and records:
            await self.store.read(lambda conn: alarm_history(conn, records))
        settings = tenant_alarm_settings(self.store, tenant)
        now = self.clock.now()
        return sorted((annotate(r, settings, now) for r in records), key=lambda r: r.sort_key)

    async def state(self, tenant: str, alarm: str) -> AlarmState | None:
        """The alarm's state; protocol adapters answer HOLD until it is ``taken``."""
        status = await self.status(tenant, alarm)
        return status[1] if status else None

    async def status(self, tenant: str, alarm: str) -> tuple[str, AlarmState] | None:
        """(the alarm ``alarm`` belongs to, its state), None if unknown or never raised.

        Open alarms come from the in-memory index; others from the projection table."""
        rec = self.store.alarm_index.get(tenant, alarm)
        if rec is None:
            rec = await self.store.read(lambda conn: read_alarm(conn, tenant, alarm))
        if rec is None or rec.state is None:
            return None
        return rec.id, rec.state

    # ------------------------------------------------------------------ commands

    async def acknowledge(self, tenant: str, alarm: str, actor: Actor) -> EventBase:
        """Take responsibility for a raised alarm. Stops its escalation."""
        return await self._command(
            "acknowledge", tenant, alarm, actor,
            lambda rec, now: derive("alarm.acknowledged", rec, transition="acknowledged",
                                    time=now, data={"by": actor}),
        )

    async def dispatch(self, tenant: str, alarm: str, actor: Actor, to: Actor) -> EventBase:
        """Send ``to`` (staff member or team) to the resident; again to send someone else."""
        return await self._command(
            "dispatch", tenant, alarm, actor,
            lambda rec, now: derive("alarm.dispatched", rec, transition="dispatched",
                                    reason=f"{to.kind}:{to.id}", time=now,
                                    data={"by": actor, "to": to}),
        )

    async def attend(self, tenant: str, alarm: str, actor: Actor) -> EventBase:
        """Staff are with the resident."""
        return await self._command(
            "attend", tenant, alarm, actor,
            lambda rec, now: derive("alarm.attended", rec, transition="attended", time=now,
                                    data={"by": actor}),
        )

    async def close(self, tenant: str, alarm: str, actor: Actor,
                    outcome: AlarmOutcome | str, note: str | None = None) -> EventBase:
        """Close a handled alarm with its outcome."""
        outcome = AlarmOutcome(outcome)
        return await self._command(
            "close", tenant, alarm, actor,
            lambda rec, now: close_event(rec, by=actor, outcome=outcome, note=note, time=now),
            same=lambda ev: ev.data.outcome == outcome,  # type: ignore[attr-defined]
        )

    async def add_note(self, tenant: str, alarm: str, actor: Actor, note: str,
                       key: str | None = None) -> EventBase:
        """Add a note to an open alarm (stored as ``alarm.updated``; the text names the actor).

        ``alarm.updated`` has no ``by`` field in contract v1, so the author is
        written into the text: ``"[operator op-1] note"``. A repeat is the same
        actor with the same text, or, when the caller gives an idempotency
        ``key``, the same actor with the same key.
        """
        text = f"[{actor.kind} {actor.id}] {note}"[:500]
        same_as = f"key:{key}" if key else note
        return await self._command(
            "note", tenant, alarm, actor,
            lambda rec, now: derive("alarm.updated", rec, transition="note",
                                    reason=f"{actor.kind}:{actor.id}:{same_as}", time=now,
                                    data={"text": text}),
            same=lambda ev: True,
        )

    # ------------------------------------------------------------------ machinery

    async def _command(
        self,
        command: str,
        tenant: str,
        alarm: str,
        actor: Actor,
        build: Callable[[AlarmRecord, datetime], EventBase],
        same: Callable[[EventBase], bool] = lambda ev: True,
    ) -> EventBase:
        lock = self._locks.setdefault((tenant, alarm), asyncio.Lock())
        async with lock:
            rec = await self.alarm(tenant, alarm, history=False)
            if rec is None or rec.state is None:
                raise UnknownAlarmError(f"no alarm {alarm!r} in tenant {tenant!r}")
            event = build(rec, self.clock.now())
            found = await self.store.read(lambda conn: self.store.get_event(tenant, event.id))
            if found is not None:
                return self._repeat(command, rec, found.event, actor, same)
            if rec.state not in ALLOWED[command]:
                hint = HINTS.get((command, rec.state))
                raise TransitionError(
                    f"cannot {command} alarm {alarm}: it is {rec.state}"
                    + (f"; {hint}" if hint else ""),
                    alarm=alarm, current=str(rec.state),
                )
            await self.emit([event])
            stored = await self.store.read(lambda conn: self.store.get_event(tenant, event.id))
            if stored is None:
                return event
            try:
                return self._repeat(command, rec, stored.event, actor, same)
            except TransitionError:  # another gateway instance stored it first
                rec = await self.alarm(tenant, alarm, history=False) or rec
                return self._repeat(command, rec, stored.event, actor, same)

    @staticmethod
    def _repeat(command: str, rec: AlarmRecord, earlier: EventBase, actor: Actor,
                same: Callable[[EventBase], bool]) -> EventBase:
        """The transition exists already: fine if it is this actor's, stale otherwise."""
        by = getattr(earlier.data, "by", None)
        if (by is None or (by.kind, by.id) == (actor.kind, actor.id)) and same(earlier):
            return earlier
        who = f" by {by.kind} {by.id}" if by is not None else ""
        if rec.state in ALLOWED[command]:
            # Read before the earlier transition was stored (another operator or instance
            # was first): name the state that event made, not the one before it.
            rec = dataclasses.replace(rec, history=[])
            rec.apply(earlier)
        raise TransitionError(
            f"cannot {command} alarm {rec.id}: it is {rec.state} ({earlier.type}{who} "
            f"at {earlier.time.isoformat()})",
            alarm=rec.id, current=str(rec.state),
        )


class StoredAlarms:
    """Alarms read from the projection for the FHIR facade (:class:`gateway.AlarmReader`).

    Reads the ``alarms`` table through :class:`AlarmReader`, never a fold of the
    tenant's history; an alarm folded into another resolves to that one. Only
    :meth:`at` (what a notification about one event shows) replays that one
    alarm's own events up to the event.
    """

    def __init__(self, store: Store) -> None:
        self.reader = AlarmReader(store)

    def get(self, tenant: str, alarm: str) -> AlarmRecord | None:
        return self.reader.alarm(tenant, alarm)

    def open(self, tenant: str) -> list[AlarmRecord]:
        return self.reader.alarms(tenant, open_only=True)

    def all(self, tenant: str) -> list[AlarmRecord]:
        return self.reader.alarms(tenant)

    def at(self, tenant: str, alarm: str, event: str) -> AlarmRecord | None:
        rec = self.get(tenant, alarm)
        if rec is None:
            return None
        out = AlarmRecord(rec.tenant, rec.id)
        for ev in rec.history:
            out.apply(ev)
            if ev.id == event:
                break
        return out
