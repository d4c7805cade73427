"""Passive alarms: what a resident's sensors say, turned into alarms by care rules.

Works on ``sensor.reported`` from any adapter (Zigbee2MQTT, a vendor cloud, a
SCAIP unit's own sensors once mapped to readings). A sensor's *role* says what
it watches: ``Device.role`` in the care configuration, else the suffix of its
address (``r1001_bed`` -> bed). The rules, per resident (``Tenant.passive``;
windows are local time in the tenant's timezone):

- **bed / chair exit at night**: occupancy goes from true to false inside the
  night window, and the same sensor does not report occupancy again within
  ``exit_return_s``: ``passive.bed_exit`` / ``passive.chair_exit`` (high), raised at
  the deadline. A return before the deadline raises nothing; a return after it
  adds ``alarm.updated`` to the open alarm.
- **door at night**: a ``door`` sensor's contact opens inside the night window:
  ``passive.door_at_night`` (high), at once.
- **no activity by day**: no activity (motion, a door opened or closed, a
  bed/chair occupancy change, vibration) for ``no_activity_s``, counting only
  time inside the day window: ``passive.no_activity`` (high), raised at that
  moment; one per silence, the next only after new activity. Activity after
  the alarm adds ``alarm.updated``.
- **water leak**: ``water_leak`` becomes true: ``passive.water_leak`` (normal).
- **fall**: ``fall`` becomes true, or a ``fall`` sensor reports vibration: ``fall``
  (critical).

Water leak and fall apply to every resident (and to sensors without one)
unless a resident's entry turns them off; the others need an entry.

No second alarm of a kind is raised for a resident while one of that kind is
open. Ids are deterministic (device or resident + kind + the event or silence
that caused it), so a replay or a restart never raises twice.

Timers (exit deadlines, silences) sleep on the injected clock, like
escalation and supervision. After a restart the rule folds the sensor reports
of the last ``history_s`` from the store (readings, open exits, last activity)
before it looks at anything new. Deadlines are decided where the rules see events,
inside the store's transaction (:meth:`RuleContext.tick`), so a report stored before
a deadline has always been seen when it falls: nobody back in bed is alarmed for.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..care import PassiveRules, TimeWindow, role_from_address, tenant_care
from ..care.models import in_window
from ..model import AlarmKind, DeviceRef, EventBase, Location, Priority, event_id
from ..store.repos import rules as rule_rows
from .alarms import NAVET, AlarmBook, AlarmRecord, Wake, derive, sleep_or_wake
from .engine import RuleContext

log = logging.getLogger(__name__)

EXIT_KINDS = {"bed": AlarmKind.PASSIVE_BED_EXIT, "chair": AlarmKind.PASSIVE_CHAIR_EXIT}
PRIORITIES = {
    AlarmKind.PASSIVE_BED_EXIT: Priority.HIGH,
    AlarmKind.PASSIVE_CHAIR_EXIT: Priority.HIGH,
    AlarmKind.PASSIVE_DOOR_AT_NIGHT: Priority.HIGH,
    AlarmKind.PASSIVE_NO_ACTIVITY: Priority.HIGH,
    AlarmKind.PASSIVE_WATER_LEAK: Priority.NORMAL,
    AlarmKind.FALL: Priority.CRITICAL,
}
ACTIVITY_ROLES = frozenset({"bed", "chair", "door", "motion"})
READINGS = ("occupancy", "contact", "water_leak", "vibration", "fall")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --------------------------------------------------------------------------- windows


def occurrences(window: TimeWindow, tz: ZoneInfo, since: datetime,
                days: int = 16) -> Iterator[tuple[datetime, datetime]]:
    """The window's occurrences (UTC start, end) that end after ``since``, in order.

    An occurrence belongs to the weekday it starts on; ``end`` at or before
    ``start`` runs past midnight, ``start == end`` is a whole day.
    """
    first = since.astimezone(tz).date() - timedelta(days=1)
    for n in range(days):
        day: date = first + timedelta(days=n)
        if WEEKDAYS[day.weekday()] not in window.days:
            continue
        start = datetime.combine(day, window.start, tzinfo=tz)
        end_day = day if window.end > window.start else day + timedelta(days=1)
        end = datetime.combine(end_day, window.end, tzinfo=tz)
        s, e = start.astimezone(UTC), end.astimezone(UTC)
        if e > since:
            yield s, e


def silence_deadline(window: TimeWindow, tz: ZoneInfo, last: datetime,
                     seconds: int) -> datetime | None:
    """When ``seconds`` of silence inside ``window`` have passed since ``last``."""
    span = timedelta(seconds=seconds)
    for start, end in occurrences(window, tz, last):
        begin = max(last, start)
        if begin + span <= end:
            return begin + span
    return None


# --------------------------------------------------------------------------- state


@dataclass
class _Care:
    """A tenant's passive-alarm configuration, as last read from the store."""

    tz: ZoneInfo
    rules: dict[str, PassiveRules]
    homes: dict[str, Location]
    read: datetime


@dataclass
class _Exit:
    tenant: str
    resident: str
    device: DeviceRef
    kind: AlarmKind
    left: datetime
    due: datetime
    cause: str  # id of the report that said the bed/chair was left
    zone: str | None = None  # the sensor input (endpoint) that said so


@dataclass
class _Silence:
    tenant: str
    resident: str
    last: datetime | None  # last activity; None: none known (count from the start)
    alarmed: bool = False  # this silence already had its alarm


@dataclass
class _Raised:
    tenant: str
    who: str
    kind: str


@dataclass
class _Report:
    """What the rule needs of one ``sensor.reported`` (live, or folded from the store)."""

    id: str
    tenant: str
    resident: str | None
    device: DeviceRef
    time: datetime
    values: dict[str, bool] = field(default_factory=dict)
    zone: str | None = None  # the sensor's endpoint / input (location.zone), when it has several

    @property
    def key(self) -> str:
        """What readings are tracked per: the device, or one of its inputs."""
        return f"{self.device.id}#{self.zone}" if self.zone else self.device.id


class PassiveRule:
    name = "passive-alarms"
    refresh_s = 60.0
    """How often (clock seconds) a tenant's passive configuration is read again."""
    history_s = 36 * 3600.0
    """How far back the store is folded at start to rebuild exits and last activity."""

    def __init__(self, book: AlarmBook | None = None) -> None:
        self.book = book or AlarmBook()
        self._wake = Wake()
        self._loaded = False
        self._started: datetime | None = None  # kept by reset(): when Navet started
        self._watched: datetime | None = None  # when configured residents were last read
        self._care: dict[str, _Care] = {}
        self._last: dict[str, dict[str, bool]] = {}  # device -> last known readings
        self._exits: dict[tuple[str, str], _Exit] = {}  # (tenant, device)
        self._exit_alarms: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._silences: dict[tuple[str, str], _Silence] = {}  # (tenant, resident)
        self._unseen: dict[str, _Raised] = {}  # raised, not yet seen back from the store

    # ------------------------------------------------------------------ config

    def care(self, ctx: RuleContext, tenant: str) -> _Care:
        now = ctx.clock.now()
        cached = self._care.get(tenant)
        if cached is not None and (now - cached.read).total_seconds() < self.refresh_s:
            return cached
        config = tenant_care(ctx.store, tenant)
        tz = ZoneInfo("Europe/Stockholm")
        rules: dict[str, PassiveRules] = {}
        homes: dict[str, Location] = {}
        if config is not None:
            try:
                tz = ZoneInfo(config.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                log.error("tenant %s: unknown timezone %r; passive windows use Stockholm time",
                          tenant, config.timezone)
            rules = {p.resident: p for p in config.passive}
            homes = {r.id: r.home for r in config.residents if r.home is not None}
        self._care[tenant] = _Care(tz, rules, homes, now)
        return self._care[tenant]

    def _role(self, ctx: RuleContext, device: str) -> str | None:
        entry = ctx.directory.get(device)
        if entry is not None and entry.extra.get("role"):
            return str(entry.extra["role"])
        return role_from_address(entry.address if entry else device.split(":", 1)[-1])

    # ------------------------------------------------------------------ load

    def reset(self) -> None:
        """Forget what the rule knows (not when Navet started); it loads again."""
        self.book.reset()
        self._loaded, self._watched = False, None
        for state in (self._care, self._last, self._exits, self._exit_alarms, self._silences,
                      self._unseen):
            state.clear()

    def load(self, ctx: RuleContext) -> None:
        self._load(ctx)

    def _load(self, ctx: RuleContext) -> None:
        """Rebuild readings, open exits and last activity from what the rules already saw."""
        if self._loaded:
            return
        self.book.ensure_loaded(ctx.store)
        now = ctx.clock.now()
        self._started = self._started or now
        since = (now - timedelta(seconds=self.history_s)).isoformat()
        folded = 0
        for row in ctx.store.rows("tenants"):
            tenant = row["id"]
            for ev_id, resident, time, device, readings, zone in _seen_reports(
                    ctx, tenant, since):
                if not device:
                    continue
                values = {k: v for k, v in json.loads(readings or "{}").items()
                          if k in READINGS and isinstance(v, bool)}
                self._reading(ctx, _Report(ev_id, tenant, resident,
                                           DeviceRef.model_validate_json(device),
                                           datetime.fromisoformat(time), values,
                                           zone or None), live=False)
                folded += 1
            for resident, rules in self.care(ctx, tenant).rules.items():
                silence = self._silence(tenant, resident)
                if rules.no_activity and silence.last is None:
                    # silent for longer than the history: was it alarmed already?
                    silence.alarmed = _latest_no_activity(ctx, tenant, resident) is not None
        self._loaded = True
        if folded:
            log.info("passive alarms: %d sensor report(s) folded from the store, %d exit(s) "
                     "open", folded, len(self._exits))

    def _silence(self, tenant: str, resident: str) -> _Silence:
        key = (tenant, resident)
        if key not in self._silences:
            self._silences[key] = _Silence(tenant, resident, None)
        return self._silences[key]

    # ------------------------------------------------------------------ events

    def urgent(self, event: EventBase, ctx: RuleContext) -> bool:
        """Whether ``event`` may make this rule raise an alarm at once, so its frame goes
        ahead of bulk traffic into the store (:mod:`gateway.core.pipeline`): a report of
        a water leak or a fall (or vibration from a fall sensor), or a door opening
        inside its resident's night window. Asked before the event is stored; a report
        that changes nothing after all only costs an early commit."""
        if event.type != "sensor.reported" or event.device is None \
                or event.source.adapter == NAVET:
            return False
        readings: Any = event.data.readings  # type: ignore[attr-defined]  # sensor body
        if readings.water_leak is True or readings.fall is True:
            return True
        if readings.vibration is not True and readings.contact is not False:
            return False
        role = self._role(ctx, event.device.id)
        if role == "fall":
            return readings.vibration is True
        if role != "door" or readings.contact is not False or event.resident is None:
            return False
        care = self.care(ctx, event.tenant)
        rules = care.rules.get(event.resident)
        return rules is not None and rules.door_at_night \
            and in_window(rules.night, event.time.astimezone(care.tz))

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self._load(ctx)
        self.book.observe(event)
        if event.type == "alarm.raised" and event.alarm in self._unseen:
            del self._unseen[event.alarm]
        if event.type != "sensor.reported" or event.device is None \
                or event.source.adapter == NAVET:
            return []
        readings: Any = event.data.readings  # type: ignore[attr-defined]  # sensor body
        values = {k: getattr(readings, k) for k in READINGS if getattr(readings, k) is not None}
        zone = event.location.zone if event.location is not None else None
        return self._reading(ctx, _Report(event.id, event.tenant, event.resident, event.device,
                                          event.time, values, zone), live=True)

    def _reading(self, ctx: RuleContext, rep: _Report, *, live: bool) -> list[EventBase]:
        device = rep.device.id
        role = self._role(ctx, device)
        prev = self._last.get(rep.key, {})
        self._last[rep.key] = {**prev, **rep.values}
        now = rep.values
        care = self.care(ctx, rep.tenant)
        rules = care.rules.get(rep.resident) if rep.resident else None
        out: list[EventBase] = []

        if rep.resident is not None and _is_activity(role, prev, now):
            silence = self._silence(rep.tenant, rep.resident)
            was_alarmed = silence.alarmed
            if silence.last is None or rep.time > silence.last:
                silence.last, silence.alarmed = rep.time, False
                self._wake.set()
            if live and was_alarmed:  # the first sign of life after the alarm
                rec = self._open(rep.tenant, rep.resident, AlarmKind.PASSIVE_NO_ACTIVITY)
                if rec is not None:
                    out.append(derive(
                        "alarm.updated", rec, transition="updated", reason=rep.id,
                        time=rep.time, data={"text": f"activity again at "
                                             f"{_local(rep.time, care.tz)} ({role or 'sensor'})"}))

        if role in EXIT_KINDS and "occupancy" in now and rep.resident is not None:
            kind = EXIT_KINDS[role]
            key = (rep.tenant, rep.key)
            if now["occupancy"] is False and prev.get("occupancy") is True:
                if rules is not None and getattr(rules, f"{role}_exit") \
                        and in_window(rules.night, rep.time.astimezone(care.tz)):
                    self._exits[key] = _Exit(
                        rep.tenant, rep.resident, rep.device, kind, rep.time,
                        rep.time + timedelta(seconds=rules.exit_return_s), rep.id, rep.zone)
                    self._wake.set()
            elif now["occupancy"] is True:
                self._exits.pop(key, None)
                raised = self._exit_alarms.pop(key, None)
                rec = self.book.get(rep.tenant, raised[0]) if raised else None
                if live and rec is not None and rec.is_open and raised is not None:
                    away = int((rep.time - raised[1]).total_seconds() // 60)
                    out.append(derive(
                        "alarm.updated", rec, transition="updated", reason=rep.id,
                        time=rep.time, data={"text": f"back in the {role} at "
                                             f"{_local(rep.time, care.tz)}, after {away} min"}))

        if not live:
            return out
        if role == "door" and now.get("contact") is False and prev.get("contact") is not False \
                and rules is not None and rules.door_at_night \
                and in_window(rules.night, rep.time.astimezone(care.tz)) \
                and rep.resident is not None:
            out += self._raise(ctx, rep.tenant, rep.resident, rep.device,
                               AlarmKind.PASSIVE_DOOR_AT_NIGHT, rep.id, rep.time,
                               f"door opened at {_local(rep.time, care.tz)}, at night "
                               f"({_span(rules.night)})", rep.zone)
        if now.get("water_leak") is True and prev.get("water_leak") is not True \
                and (rules is None or rules.water_leak):
            out += self._raise(ctx, rep.tenant, rep.resident, rep.device,
                               AlarmKind.PASSIVE_WATER_LEAK, rep.id, rep.time,
                               f"water leak detected at {_local(rep.time, care.tz)}", rep.zone)
        if _fall(role, now) and not _fall(role, prev) and (rules is None or rules.fall):
            out += self._raise(ctx, rep.tenant, rep.resident, rep.device, AlarmKind.FALL,
                               rep.id, rep.time,
                               f"fall detected at {_local(rep.time, care.tz)}", rep.zone)
        return out

    # ------------------------------------------------------------------ raising

    def _open(self, tenant: str, who: str, kind: str) -> AlarmRecord | None:
        for rec in self.book.open_records():
            if rec.tenant == tenant and rec.kind == kind and (
                    rec.resident == who or (rec.resident is None and rec.device is not None
                                            and rec.device.id == who)):
                return rec
        return None

    def _busy(self, tenant: str, who: str, kind: str) -> bool:
        """One of ``kind`` is open for ``who`` (or raised and on its way to the store)."""
        if self._open(tenant, who, kind) is not None:
            return True
        return any(r.tenant == tenant and r.who == who and r.kind == kind
                   for r in self._unseen.values())

    def _raise(self, ctx: RuleContext, tenant: str, resident: str | None,
               device: DeviceRef | None, kind: AlarmKind, cause: str, time: datetime,
               text: str, zone: str | None = None) -> list[EventBase]:
        who = resident or (device.id if device else "")
        if self._busy(tenant, who, kind):
            return []
        location: Location | None = None
        if device is not None:
            entry = ctx.directory.get(device.id)
            place = entry.extra.get("location") if entry else None
            # the place for people, the input that triggered (Zigbee endpoint) for machines
            location = Location(text=place, zone=zone) if place or zone else None
        elif resident is not None:
            location = self.care(ctx, tenant).homes.get(resident)
        rec = AlarmRecord(tenant, alarm_id(tenant, who, kind, cause), kind=str(kind),
                          priority=PRIORITIES[kind], resident=resident, device=device,
                          location=location)
        raised = derive("alarm.raised", rec, transition="raised", time=time,
                        data={"kind": kind, "text": text[:500]})
        if ctx.store.get_event(tenant, raised.id) is not None:
            return []  # raised before a restart (and perhaps closed since)
        self._unseen[rec.id] = _Raised(tenant, who, str(kind))
        return [raised]

    # ------------------------------------------------------------------ timers

    def due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime | None]:
        """Passive alarms due at ``now``, and when the next deadline falls."""
        events: list[EventBase] = []
        nxt: datetime | None = None

        def later(at: datetime) -> None:
            nonlocal nxt
            nxt = at if nxt is None or at < nxt else nxt

        for key, ex in list(self._exits.items()):
            if now < ex.due:
                later(ex.due)
                continue
            del self._exits[key]
            care = self.care(ctx, ex.tenant)
            what = "bed" if ex.kind is AlarmKind.PASSIVE_BED_EXIT else "chair"
            minutes = int((ex.due - ex.left).total_seconds() // 60)
            events += self._raise(ctx, ex.tenant, ex.resident, ex.device, ex.kind, ex.cause,
                                  ex.due, f"out of the {what} at {_local(ex.left, care.tz)} "
                                  f"and not back within {minutes} min", ex.zone)
            # raised now or before a restart: a later return is news for that alarm
            self._exit_alarms[key] = (alarm_id(ex.tenant, ex.resident, ex.kind, ex.cause),
                                      ex.left)

        for (tenant, resident), silence in self._silences.items():
            care = self.care(ctx, tenant)
            rules = care.rules.get(resident)
            if rules is None or not rules.no_activity or silence.alarmed:
                continue
            assert self._started is not None
            last = silence.last or self._started
            at = silence_deadline(rules.day, care.tz, last, rules.no_activity_s)
            if at is None:
                continue
            if now < at:
                later(at)
                continue
            silence.alarmed = True
            hours, mins = divmod(rules.no_activity_s // 60, 60)
            since = f"since {_local(last, care.tz)}" if silence.last else "since Navet started"
            events += self._raise(ctx, tenant, resident, None, AlarmKind.PASSIVE_NO_ACTIVITY,
                                  f"silence:{last.isoformat()}", at,
                                  f"no activity {since} ({hours} h {mins} min in the day "
                                  f"window {_span(rules.day)})")
        return events, nxt

    def _watch_configured(self, ctx: RuleContext) -> None:
        """Residents with no-activity watching but no report yet count from the start."""
        for row in ctx.store.rows("tenants"):
            rules = self.care(ctx, row["id"]).rules
            watched = {e.resident for e in ctx.directory.for_tenant(row["id"])
                       if e.resident in rules and self._role(ctx, e.id) in ACTIVITY_ROLES}
            for resident in watched:
                if resident is not None and rules[resident].no_activity:
                    self._silence(row["id"], resident)

    def _due(self, ctx: RuleContext, now: datetime) -> tuple[list[EventBase], datetime]:
        """The timer's step: what is due, and when to look next (a refresh at the latest)."""
        self._load(ctx)
        if self._watched is None or (now - self._watched).total_seconds() >= self.refresh_s:
            self._watch_configured(ctx)
            self._watched = now
        events, nxt = self.due(ctx, now)
        if events:
            log.info("%d passive alarm(s) due", len(events))
        wake_at = self._watched + timedelta(seconds=self.refresh_s)
        return events, (nxt if nxt is not None and nxt < wake_at else wake_at)

    async def run(self, ctx: RuleContext) -> None:
        while True:
            self._wake.clear()
            try:
                wake_at = await ctx.tick(lambda now: self._due(ctx, now))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("passive-alarm timer failed; retrying in 5 s")
                await ctx.clock.sleep(5)
                continue
            await sleep_or_wake(ctx.clock, (wake_at - ctx.clock.now()).total_seconds(),
                                self._wake)


# --------------------------------------------------------------------------- helpers


def alarm_id(tenant: str, who: str, kind: str, cause: str) -> str:
    """A passive alarm's id: who (resident, or device without one) + kind + its cause."""
    return event_id(NAVET, tenant, who, str(kind), cause)


def _is_activity(role: str | None, prev: dict[str, bool], now: dict[str, bool]) -> bool:
    """Whether a report shows the resident doing something (not a sensor's check-in)."""
    if role in ("bed", "chair"):
        return "occupancy" in now and "occupancy" in prev and now["occupancy"] != prev["occupancy"]
    if role == "door":
        return "contact" in now and "contact" in prev and now["contact"] != prev["contact"]
    if role in ("leak", "fall"):
        return False
    return now.get("occupancy") is True or now.get("vibration") is True


def _fall(role: str | None, values: dict[str, bool]) -> bool:
    return values.get("fall") is True or (role == "fall" and values.get("vibration") is True)


def _local(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%H:%M")


def _span(window: TimeWindow) -> str:
    return f"{window.start.strftime('%H:%M')}-{window.end.strftime('%H:%M')}"



def _seen_reports(ctx: RuleContext, tenant: str, since: str) -> list[Any]:
    """Sensor reports of ``tenant`` since ``since`` that the rules already processed."""
    return ctx.store.read_sync(
        lambda conn: rule_rows.seen_sensor_reports(conn, tenant, since, NAVET))


def _latest_no_activity(ctx: RuleContext, tenant: str, resident: str) -> str | None:
    return ctx.store.read_sync(lambda conn: rule_rows.latest_alarm_time(
        conn, tenant, resident, str(AlarmKind.PASSIVE_NO_ACTIVITY)))
