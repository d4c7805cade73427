"""Escalation: an alarm nobody acknowledges moves along the tenant's receiver chain.

The tenant's ``alarms.receivers`` is the chain; the first receiver gets every
alarm. When an alarm is still ``raised`` ``ack_deadline_s`` after Navet stored
it, Navet emits ``alarm.escalated`` (level 1, to the second receiver); after
another deadline level 2 to the third, and so on. At the end of the chain no
more events are emitted, but the alarm stays flagged ``overdue`` in the
operator views until someone acknowledges it. Priorities not in
``alarms.escalate`` (by default ``low``) never escalate.

Each escalation's ``time`` is the deadline it marks, not the moment the timer
happened to run, and its id comes from alarm + level, so a restart or a late
timer never escalates twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from ..care import AlarmSettings
from ..model import EventBase, Priority
from .alarms import (
    AlarmBook,
    AlarmRecord,
    AlarmState,
    Wake,
    derive,
    sleep_or_wake,
    tenant_alarm_settings,
)
from .engine import RuleContext

log = logging.getLogger(__name__)

Route = Callable[[RuleContext, AlarmRecord, AlarmSettings, datetime], AlarmSettings | None]
"""A rule's own receiver chain for some alarms (e.g. a missed dose: the resident's plan)."""


def escalates(rec: AlarmRecord, settings: AlarmSettings) -> bool:
    return rec.state is AlarmState.RAISED and (rec.priority or Priority.NORMAL) in settings.escalate


def deadline(rec: AlarmRecord, settings: AlarmSettings, level: int) -> datetime:
    """When the alarm, at escalation ``level``, must have been acknowledged."""
    assert rec.received is not None
    return rec.received + timedelta(seconds=settings.ack_deadline_s * (level + 1))


def annotate(rec: AlarmRecord, settings: AlarmSettings, now: datetime) -> AlarmRecord:
    """Fill ``ack_due`` and ``overdue`` for operator views."""
    if escalates(rec, settings) and rec.received is not None:
        rec.ack_due = deadline(rec, settings, rec.escalation_level)
        rec.overdue = now >= rec.ack_due and rec.escalation_level + 1 >= len(settings.receivers)
    else:
        rec.ack_due, rec.overdue = None, False
    return rec


class EscalationRule:
    name = "alarm-escalation"

    def __init__(self, book: AlarmBook | None = None, routes: Sequence[Route] = ()) -> None:
        self.book = book or AlarmBook()
        self.routes = list(routes)  # per-alarm chains (a plan's), else the tenant's
        self._wake = Wake()
        self._emitted: dict[tuple[str, str], int] = {}  # levels emitted, not yet observed

    def load(self, ctx: RuleContext) -> None:
        self.book.ensure_loaded(ctx.store)

    def reset(self) -> None:
        self.book.reset()
        self._emitted.clear()

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self.book.ensure_loaded(ctx.store)
        self.book.observe(event)
        if event.type in ("alarm.raised", "alarm.acknowledged", "alarm.cancelled",
                          "alarm.closed"):
            self._wake.set()
        return []

    def observe(self, event: EventBase, ctx: RuleContext) -> None:
        """An alarm event another instance stored (scale-out: this one runs the timer)."""
        self.book.ensure_loaded(ctx.store)
        if self.book.observe(event) is not None:
            self._wake.set()

    def due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime | None]:
        """Escalations due at ``now``, and when the next one falls due."""
        events: list[EventBase] = []
        nxt: datetime | None = None
        settings: dict[str, AlarmSettings] = {}
        for rec in self.book.open_records():
            if rec.tenant not in settings:
                settings[rec.tenant] = tenant_alarm_settings(ctx.store, rec.tenant)
            s = self.settings_for(ctx, rec, settings[rec.tenant], now)
            key = (rec.tenant, rec.id)
            if not escalates(rec, s) or rec.received is None:
                self._emitted.pop(key, None)
                continue
            level = max(rec.escalation_level, self._emitted.get(key, 0))
            while level + 1 < len(s.receivers) and now >= deadline(rec, s, level):
                at = deadline(rec, s, level)
                level += 1
                events.append(derive(
                    "alarm.escalated", rec, transition="escalated", reason=str(level), time=at,
                    data={"level": level, "to": s.receivers[level],
                          "reason": f"not acknowledged by {s.receivers[level - 1]} "
                                    f"within {s.ack_deadline_s} s"},
                ))
            self._emitted[key] = level
            if level + 1 < len(s.receivers):
                at = deadline(rec, s, level)
                nxt = at if nxt is None or at < nxt else nxt
        for gone in set(self._emitted) - set(self.book.records):
            del self._emitted[gone]
        return events, nxt

    def _due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime | None]:
        self.book.ensure_loaded(ctx.store)
        events, nxt = self.due(ctx, now)
        if events:
            log.info("escalating %d alarm step(s)", len(events))
        return events, nxt

    def settings_for(self, ctx: RuleContext, rec: AlarmRecord, tenant: AlarmSettings,
                     now: datetime) -> AlarmSettings:
        """Chain and deadline for ``rec``: the first route that names one, else the tenant's."""
        for route in self.routes:
            found = route(ctx, rec, tenant, now)
            if found is not None:
                return found
        return tenant

    async def run(self, ctx: RuleContext) -> None:
        while True:
            self._wake.clear()
            try:
                nxt = await ctx.tick(lambda now: self._due(ctx, now))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("escalation timer failed; retrying in 5 s")
                await ctx.clock.sleep(5)
                continue
            delay = None if nxt is None else (nxt - ctx.clock.now()).total_seconds()
            await sleep_or_wake(ctx.clock, delay, self._wake)

