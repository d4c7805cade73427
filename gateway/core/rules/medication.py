"""Missed doses: a dose not taken in its window becomes an alarm for the plan's receivers.

Whatever the dispenser vendor, Navet follows each dose by ``(tenant, device,
dose)`` through ``medication.dose_due`` / ``dose_dispensed`` / ``dose_taken`` /
``dose_missed`` and decides:

- **Missed, by the vendor**: ``medication.dose_missed`` raises ``alarm.raised``
  kind ``medication.missed_dose`` at once (unless the dose was already taken).
- **Missed, by Navet's deadline**: for a vendor that reports due/dispensed and
  taken but never "missed", a dose not reported taken by its deadline raises the
  same alarm. The deadline is ``scheduled + window_s + grace_s`` from the
  resident's plan (``Plan.medication``), but never sooner than ``grace_s`` after
  the due report reached Navet: a report that arrives late (a vendor cloud
  catching up after an outage) gets the grace to be followed by its "taken".
  The alarm's ``time`` is the deadline, not the moment the timer ran.
- Both ways give the alarm one id, from device + dose, so the vendor's report
  and Navet's deadline (or a replay, or a restart) never make two alarms.

**Receivers.** The alarm escalates through the core escalation rule, along the
chain the resident's plan names in ``medication.receivers`` (the first at once,
each next one when not acknowledged within the deadline), instead of the
tenant's ``alarms.receivers``. ``relatives`` (every relative of the resident)
and ``relative:<id>`` are in the chain only while the resident's own
``notify_relatives`` consent is valid at the moment of escalation; expired or
withdrawn, they are left out. A plan without ``medication.receivers`` (or no
plan, or a chain left empty by that) uses the tenant's chain.

**Taken late** (after the alarm was raised): Navet adds ``alarm.updated`` saying
when it was taken. If nobody has taken the alarm yet (still ``raised``), Navet
also closes it (by Navet; outcome ``no_action_needed``, or ``false_alarm`` when
the dose was in fact taken inside its window and only the report was late), so
escalation stops and nobody is sent for nothing. If a person already
acknowledged it, the alarm stays theirs to close: they may be on their way and
the update tells them. A ``dose_missed`` after ``dose_taken`` is ignored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..care import AlarmSettings, MedicationPlan, Tenant, tenant_care
from ..model import AlarmKind, DeviceRef, EventAdapter, EventBase, Location, event_id
from ..store.repos import events as event_rows
from ..store.repos import rules as rule_rows
from .alarms import (
    NAVET,
    SYSTEM,
    AlarmBook,
    AlarmRecord,
    AlarmState,
    Wake,
    close_event,
    derive,
    sleep_or_wake,
)
from .engine import RuleContext

log = logging.getLogger(__name__)

KIND = str(AlarmKind.MEDICATION_MISSED_DOSE)
DOSE_TYPES = ("medication.dose_due", "medication.dose_dispensed", "medication.dose_taken",
              "medication.dose_missed")
KEEP = timedelta(days=2)
"""How long a finished dose is remembered (a late report of it is then still recognised)."""


@dataclass
class _Dose:
    tenant: str
    device: DeviceRef
    dose: str
    scheduled: datetime
    resident: str | None = None
    medication: str | None = None
    reported: datetime | None = None  # when Navet first heard it was due/dispensed
    taken: datetime | None = None
    alarm: AlarmRecord | None = None  # the missed-dose alarm, once raised

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.tenant, self.device.id, self.dose)


def alarm_id(tenant: str, device: str, dose: str) -> str:
    """One alarm per dose, whoever (vendor or Navet's deadline) decides it was missed."""
    return event_id(NAVET, tenant, KIND, device, dose)


def plan_for(care: Tenant | None, resident: str | None) -> MedicationPlan:
    if care is not None and resident is not None:
        for plan in care.plans:
            if plan.resident == resident and plan.medication is not None:
                return plan.medication
    return MedicationPlan()


def relatives_may_be_told(care: Tenant, resident: str, when: datetime) -> bool:
    """Whether the resident's own notify_relatives consent is valid at ``when``."""
    for consent in care.consents:
        if consent.resident != resident or consent.purpose != "notify_relatives" \
                or consent.given_by != "resident":
            continue
        try:
            if consent.valid_at(when):
                return True
        except TypeError:  # a consent without a UTC offset: not provably valid, so not valid
            log.warning("consent %s has a time without UTC offset; ignored", consent.id)
    return False


def receivers_for(care: Tenant, resident: str | None, chain: list[str],
                  when: datetime) -> list[str]:
    """The plan's chain with relatives expanded, or dropped without a valid consent."""
    told = resident is not None and relatives_may_be_told(care, resident, when)
    mine = [r.id for r in care.relatives if r.resident == resident]
    out: list[str] = []
    for name in chain:
        if name == "relatives":
            out += [f"relative:{r}" for r in mine] if told else []
        elif name.startswith("relative:"):
            if told and name.split(":", 1)[1] in mine:
                out.append(name)
        else:
            out.append(name)
    return list(dict.fromkeys(out))


class MissedDoseRule:
    name = "missed-dose"

    def __init__(self, book: AlarmBook | None = None) -> None:
        self.book = book or AlarmBook()
        self._doses: dict[tuple[str, str, str], _Dose] = {}
        self._wake = Wake()
        self._loaded = False

    def load(self, ctx: RuleContext) -> None:
        self._load(ctx)

    def reset(self) -> None:
        self.book.reset()
        self._doses.clear()
        self._loaded = False

    # ------------------------------------------------------------------ escalation route

    def route(self, ctx: RuleContext, rec: AlarmRecord, tenant: AlarmSettings,
              now: datetime) -> AlarmSettings | None:
        """The plan's receiver chain for a missed-dose alarm (None: not ours, or no chain)."""
        if rec.kind != KIND:
            return None
        care = tenant_care(ctx.store, rec.tenant)
        plan = plan_for(care, rec.resident)
        if care is None or not plan.receivers:
            return None
        chain = receivers_for(care, rec.resident, plan.receivers, now)
        if not chain:
            return None  # only relatives, and no consent: nobody would hear; use the tenant's
        return tenant.model_copy(update={
            "receivers": chain,
            "ack_deadline_s": plan.ack_deadline_s or tenant.ack_deadline_s,
        })

    # ------------------------------------------------------------------ events

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self._load(ctx)
        self.book.observe(event)
        if event.type not in DOSE_TYPES or event.device is None or event.source.adapter == NAVET:
            return []
        data: Any = event.data
        key = (event.tenant, event.device.id, data.dose)
        dose = self._doses.get(key)
        if dose is None:
            dose = self._doses[key] = _Dose(event.tenant, event.device, data.dose,
                                            data.scheduled, event.resident, data.medication)
        dose.resident = dose.resident or event.resident
        dose.medication = dose.medication or data.medication
        if event.type in ("medication.dose_due", "medication.dose_dispensed"):
            if dose.reported is None:
                dose.reported = event.received or event.time
                self._wake.set()
            return []
        if event.type == "medication.dose_taken":
            if dose.taken is not None:
                return []
            dose.taken = event.time
            return self._taken_late(ctx, dose) if dose.alarm is not None else []
        # medication.dose_missed, the vendor's own verdict
        if dose.taken is not None or dose.alarm is not None:
            return []
        return [self._raise(ctx, dose, event.time, "reported missed by the dispenser")]

    def _raise(self, ctx: RuleContext, dose: _Dose, at: datetime, why: str) -> EventBase:
        care = tenant_care(ctx.store, dose.tenant)
        plan = plan_for(care, dose.resident)
        entry = ctx.directory.get(dose.device.id)
        place = entry.extra.get("location") if entry else None
        rec = AlarmRecord(
            dose.tenant, alarm_id(*dose.key), kind=KIND, priority=plan.priority,
            resident=dose.resident or (entry.resident if entry else None), device=dose.device,
            location=Location(text=place) if place else None,
        )
        dose.alarm = rec
        what = f"dose {dose.dose}" + (f" ({dose.medication})" if dose.medication else "")
        text = (f"{what} due {_local(care, dose.scheduled)} not taken within "
                f"{plan.window_s // 60} min: {why}")
        if care is not None and plan.receivers:
            chain = receivers_for(care, rec.resident, plan.receivers, at)
            if chain:
                text += f"; to {chain[0]}"
        return derive("alarm.raised", rec, transition="raised", time=at,
                      data={"kind": KIND, "text": text[:500]})

    def _taken_late(self, ctx: RuleContext, dose: _Dose) -> list[EventBase]:
        assert dose.alarm is not None and dose.taken is not None
        rec = self.book.get(dose.tenant, dose.alarm.id)
        if rec is None and self._closed(ctx, dose.alarm):
            return []  # handled and closed already; the dose_taken event itself tells the rest
        state = rec.state if rec is not None else AlarmState.RAISED  # raised, not yet seen
        care = tenant_care(ctx.store, dose.tenant)
        plan = plan_for(care, dose.resident)
        late_s = (dose.taken - dose.scheduled).total_seconds()
        in_time = late_s <= plan.window_s
        when = _local(care, dose.taken)
        note = (f"dose was taken in time at {when}; the report reached Navet late" if in_time
                else f"dose taken late at {when}, {int(late_s // 60)} min after its time")
        target = rec or dose.alarm
        out = [derive("alarm.updated", target, transition="dose-taken", time=dose.taken,
                      data={"text": note})]
        if state is AlarmState.RAISED:
            out.append(close_event(target, by=SYSTEM,
                                   outcome="false_alarm" if in_time else "no_action_needed",
                                   note=note, time=dose.taken))
        return out

    @staticmethod
    def _closed(ctx: RuleContext, rec: AlarmRecord) -> bool:
        return ctx.store.read_sync(lambda conn: event_rows.any_of_alarm(
            conn, rec.tenant, rec.id, ("alarm.closed", "alarm.cancelled")))

    # ------------------------------------------------------------------ Navet's deadline

    def deadline(self, dose: _Dose, plan: MedicationPlan) -> datetime:
        own = dose.scheduled + timedelta(seconds=plan.window_s + plan.grace_s)
        if dose.reported is not None:
            own = max(own, dose.reported + timedelta(seconds=plan.grace_s))
        return own

    def due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime | None]:
        """Missed doses Navet decides at ``now``, and when the next deadline falls."""
        events: list[EventBase] = []
        nxt: datetime | None = None
        cares: dict[str, Tenant | None] = {}
        for key, dose in list(self._doses.items()):
            if dose.taken is not None or dose.alarm is not None or dose.reported is None:
                if dose.scheduled < now - KEEP:
                    del self._doses[key]
                continue
            if dose.tenant not in cares:
                cares[dose.tenant] = tenant_care(ctx.store, dose.tenant)
            at = self.deadline(dose, plan_for(cares[dose.tenant], dose.resident))
            if now < at:
                nxt = at if nxt is None or at < nxt else nxt
                continue
            events.append(self._raise(ctx, dose, at, "no report that it was taken"))
        return events, nxt

    def _due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime | None]:
        self._load(ctx)
        events, nxt = self.due(ctx, now)
        if events:
            log.info("%d missed dose(s)", len(events))
        return events, nxt

    async def run(self, ctx: RuleContext) -> None:
        while True:
            self._wake.clear()
            try:
                nxt = await ctx.tick(lambda now: self._due(ctx, now))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("missed-dose timer failed; retrying in 5 s")
                await ctx.clock.sleep(5)
                continue
            delay = None if nxt is None else (nxt - ctx.clock.now()).total_seconds()
            await sleep_or_wake(ctx.clock, delay, self._wake)

    # ------------------------------------------------------------------ restart

    def _load(self, ctx: RuleContext) -> None:
        """Doses of the last two days as the rules last saw them, and their alarms."""
        if self._loaded:
            return
        self._loaded = True
        self.book.ensure_loaded(ctx.store)
        since = (ctx.clock.now() - KEEP).isoformat()
        bodies = ctx.store.read_sync(
            lambda conn: rule_rows.ruled_bodies(conn, DOSE_TYPES, since))
        for body in bodies:
            ev = EventAdapter.validate_json(body)
            if ev.device is None or ev.source.adapter == NAVET:
                continue
            data: Any = ev.data
            key = (ev.tenant, ev.device.id, data.dose)
            dose = self._doses.setdefault(key, _Dose(ev.tenant, ev.device, data.dose,
                                                     data.scheduled, ev.resident,
                                                     data.medication))
            if ev.type == "medication.dose_taken":
                dose.taken = dose.taken or ev.time
            elif dose.reported is None:
                dose.reported = ev.received or ev.time
        for dose in self._doses.values():
            aid = alarm_id(*dose.key)
            rec = self.book.get(dose.tenant, aid)
            if rec is not None or ctx.store.get_event(
                    dose.tenant, event_id(NAVET, dose.tenant, aid, "raised", "")) is not None:
                dose.alarm = rec or AlarmRecord(dose.tenant, aid, kind=KIND,
                                                resident=dose.resident, device=dose.device)
        if self._doses:
            log.info("missed-dose rule: %d dose(s) restored from the store", len(self._doses))



def _local(care: Tenant | None, when: datetime) -> str:
    """``HH:MM`` in the tenant's time zone (the one plans are written in)."""
    try:
        zone = ZoneInfo(care.timezone if care is not None else "Europe/Stockholm")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return when.astimezone(zone).strftime("%H:%M")
