"""Geofences for GPS alarms: leaving an enforced fence, coming back, SOS outside home.

A resident's fences are in the tenant's care configuration (``geofences``; see
:class:`gateway.core.care.Geofence`). At the time of a fix (local time in the tenant's
timezone) the *enforced* fences are those without ``windows`` or with a window that
contains that time. The resident is fine while inside **any** enforced fence (several
allowed areas add up), and outside only when outside all of them.

Jitter. A fix decides nothing unless it is usable and clear:

- usable: its accuracy (``accuracy_m``; a fix without one counts as
  ``DEFAULT_ACCURACY_M``) is at most ``MAX_ACCURACY_M``; coarse cell-tower fixes only
  move the last known position;
- clearly outside: outside every enforced fence by more than its accuracy plus the
  fence's ``margin_m``; clearly inside: inside at least one enforced fence; anything in
  between (the accuracy circle straddles the edge) is ambiguous and ignored;
- the state flips only after ``CONFIRM_FIXES`` clear fixes in a row that disagree with
  it; an ambiguous or unusable fix neither counts nor breaks the run.

So a person standing at the fence edge, with fixes jumping a few metres in and out,
never raises anything, and one wild fix never does either. Fixes are taken in the order of
their own time: one older than a fix already seen (a backlog arriving out of order) is
stored but decides nothing.

What is emitted (source ``navet``, ids from alarm + transition + the fix's event id):

- confirmed outside and no open exit alarm for the resident: ``alarm.raised`` kind
  ``gps.geofence_exit``, priority high, location = the confirming (last known) fix;
- confirmed outside again after a noted return, while that alarm is still open:
  ``alarm.updated`` "left ... again" on it (no second alarm);
- while it is open and the resident outside: ``alarm.updated`` with the position at most
  every ``FOLLOW_S`` seconds, so whoever goes out knows where to look;
- confirmed inside while it is open: ``alarm.updated`` "back inside ..." with the
  position. The alarm stays open for a person to close.

SOS outside home: an ``alarm.raised`` ``personal_button`` from a ``gps_alarm`` device,
when the resident's last usable fix (at most ``SOS_FIX_MAX_AGE_S`` old) is clearly
outside every ``home`` fence (whatever the windows), becomes ``gps.panic_outside``:
Navet raises the panic alarm (priority critical, the last known position) and folds the
device's alarm into it (``alarm.updated`` with ``data.folded``), the way the lifecycle rule
folds repeated presses: the device's alarm is never cancelled, it shares the panic alarm's
state (issue 12). If the rule cannot decide (no home fence, no recent fix, ambiguous fix) the
device's ``personal_button`` alarm stands untouched: an SOS never waits for a fence.
An SOS or fall alarm that arrives without a position gets ``alarm.updated`` with the
last known one.

State lives in memory. After a restart (and after a rollback of a transaction the rule
saw events in: rule state only ever holds what committed) a resident's state is unknown
until the next confirmed fixes; a resident with an open exit alarm starts as outside, so coming back
is still noted and walking on does not raise a second alarm.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from ..care import Geofence, tenant_care
from ..care.models import in_window
from ..geo import Area
from ..model import AlarmKind, EventAdapter, EventBase, GeoPoint, Location, Priority, event_id
from ..store.repos import events as event_rows
from .alarms import NAVET, AlarmBook, AlarmRecord, derive
from .engine import RuleContext

log = logging.getLogger(__name__)

CONFIRM_FIXES = 2
"""Clear fixes in a row needed to flip between inside and outside."""
MAX_ACCURACY_M = 150.0
"""Fixes less accurate than this never decide anything."""
DEFAULT_ACCURACY_M = 50.0
"""Assumed accuracy of a fix that does not state one."""
FOLLOW_S = 300
"""At most one position update per open alarm this often."""
SOS_FIX_MAX_AGE_S = 900
"""An SOS is classified by a fix at most this old; older, it stays personal_button."""
SEEN_EVENTS = 4096

EXIT = str(AlarmKind.GPS_GEOFENCE_EXIT)
PANIC = str(AlarmKind.GPS_PANIC_OUTSIDE)


class Side(StrEnum):
    INSIDE = "inside"
    OUTSIDE = "outside"


@dataclass(frozen=True)
class Fix:
    event: str
    time: datetime
    point: GeoPoint

    @property
    def accuracy(self) -> float:
        acc = self.point.accuracy_m
        return DEFAULT_ACCURACY_M if acc is None else acc


@dataclass(frozen=True)
class Fence:
    config: Geofence
    area: Area

    @property
    def label(self) -> str:
        return f"'{self.config.name or self.config.id}'"


@dataclass
class Track:
    """What the rule knows about one resident's whereabouts."""

    fences: frozenset[str] | None = None  # the enforced set the state refers to
    side: Side | None = None
    pending: Side | None = None
    streak: int = 0
    last_fix: Fix | None = None
    newest: datetime | None = None  # time of the newest fix seen
    returned_for: str | None = None  # open exit alarm whose return was noted
    followed: dict[str, datetime] = field(default_factory=dict)  # alarm -> last update


def enforced(fence: Geofence, local: datetime) -> bool:
    return not fence.windows or any(in_window(w, local) for w in fence.windows)


class GeofenceRule:
    name = "geofence"

    def __init__(self, book: AlarmBook | None = None) -> None:
        self.book = book or AlarmBook()
        self._tracks: dict[tuple[str, str], Track] = {}
        self._config: dict[str, tuple[str, ZoneInfo, dict[str, list[Fence]]]] = {}
        # alarms this rule raised that the book has not seen yet (same rules step)
        self._fresh: dict[tuple[str, str, str], AlarmRecord] = {}
        # what each recent event derived: an event seen twice derives the same events
        # again instead of counting twice
        self._seen: OrderedDict[str, list[EventBase]] = OrderedDict()

    def load(self, ctx: RuleContext) -> None:
        self.book.ensure_loaded(ctx.store)

    def reset(self) -> None:
        """After a rollback: as after a restart (tracks start unknown; see the module)."""
        self.book.reset()
        for state in (self._tracks, self._config, self._fresh, self._seen):
            state.clear()

    # ------------------------------------------------------------------ configuration

    def fences(self, ctx: RuleContext, tenant: str, resident: str) -> tuple[list[Fence], ZoneInfo]:
        """The resident's fences and the tenant's timezone, re-read when the tenant changes."""
        rows = ctx.store.rows("tenants", tenant)
        body = rows[0]["body"] if rows else ""
        cached = self._config.get(tenant)
        if cached is None or cached[0] != body:
            care = tenant_care(ctx.store, tenant) if rows else None
            zone = ZoneInfo(care.timezone if care else "Europe/Stockholm")
            by_resident: dict[str, list[Fence]] = {}
            for g in care.geofences if care else []:
                by_resident.setdefault(g.resident, []).append(
                    Fence(g, Area.from_geojson(g.geometry)))
            cached = self._config[tenant] = (body, zone, by_resident)
        return cached[2].get(resident, []), cached[1]

    # ------------------------------------------------------------------ events

    def on_event(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        self.book.ensure_loaded(ctx.store)
        self.book.observe(event)
        if event.source.adapter == NAVET:
            if event.type == "alarm.raised" and self._fresh:
                seen = event.alarm or event.id
                self._fresh = {k: v for k, v in self._fresh.items() if v.id != seen}
            return []
        if event.resident is None:
            return []
        if event.id in self._seen:
            return self._seen[event.id]
        derived: list[EventBase] = []
        if event.type == "position.reported":
            derived = self._position(event, ctx)
        elif (event.type == "alarm.raised" and event.device is not None
                and str(event.device.kind) == "gps_alarm"):
            derived = self._device_alarm(event, ctx)
        else:
            return []
        self._seen[event.id] = derived
        while len(self._seen) > SEEN_EVENTS:
            self._seen.popitem(last=False)
        return derived

    def _track(self, tenant: str, resident: str) -> Track:
        return self._tracks.setdefault((tenant, resident), Track())

    def _open_alarm(self, tenant: str, resident: str, kind: str) -> AlarmRecord | None:
        """The resident's open alarm of ``kind`` that this rule raised, if any."""
        for rec in self.book.open_records():
            if (rec.tenant == tenant and rec.resident == resident and rec.kind == kind
                    and rec.history and rec.history[0].source.adapter == NAVET):
                return rec
        return self._fresh.get((tenant, resident, kind))

    def _known(self, tenant: str, alarm: str) -> bool:
        return self.book.get(tenant, alarm) is not None or any(
            r.id == alarm for r in self._fresh.values())

    def _position(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        tenant, resident = event.tenant, event.resident
        assert resident is not None
        fix = Fix(event.id, event.time, event.data.point)  # type: ignore[attr-defined]
        track = self._track(tenant, resident)
        if track.newest is not None and fix.time < track.newest:
            return []  # a late, older fix (a device uploading its backlog out of order)
        track.newest = fix.time
        usable = fix.accuracy <= MAX_ACCURACY_M
        if usable or track.last_fix is None:
            track.last_fix = fix
        derived = self._decide(track, fix, usable, event, ctx)
        # position updates after the decision, so a return is not also a "position update"
        return derived + (self._follow(track, fix, tenant, resident) if usable else [])

    def _decide(self, track: Track, fix: Fix, usable: bool, event: EventBase,
                ctx: RuleContext) -> list[EventBase]:
        tenant, resident = event.tenant, event.resident
        assert resident is not None
        fences, zone = self.fences(ctx, tenant, resident)
        local = event.time.astimezone(zone)
        active = [f for f in fences if enforced(f.config, local)]
        key = frozenset(f.config.id for f in active)
        if key != track.fences:
            self._reset(track, key, tenant, resident)
        if not active or not usable:
            return []
        side = self._side(fix, active)
        if side is None:
            return []
        if side == track.side:
            track.pending, track.streak = None, 0
            return []
        if side != track.pending:
            track.pending, track.streak = side, 0
        track.streak += 1
        if track.streak < CONFIRM_FIXES:
            return []
        previous, track.side, track.pending, track.streak = track.side, side, None, 0
        return self._flipped(track, previous, side, fix, event, active)

    def _reset(self, track: Track, key: frozenset[str], tenant: str, resident: str) -> None:
        track.fences, track.pending, track.streak = key, None, 0
        rec = self._open_alarm(tenant, resident, EXIT)
        track.side = Side.OUTSIDE if rec is not None and track.returned_for != rec.id else None

    @staticmethod
    def _side(fix: Fix, fences: list[Fence]) -> Side | None:
        lat, lon = fix.point.lat, fix.point.lon
        if any(f.area.contains(lat, lon) for f in fences):
            return Side.INSIDE
        if all(f.area.edge_distance_m(lat, lon) > fix.accuracy + f.config.margin_m
               for f in fences):
            return Side.OUTSIDE
        return None  # the accuracy circle straddles an edge: undecided

    def _flipped(self, track: Track, previous: Side | None, side: Side, fix: Fix,
                 event: EventBase, fences: list[Fence]) -> list[EventBase]:
        tenant, resident = event.tenant, event.resident
        assert resident is not None
        names = ", ".join(f.label for f in fences)
        rec = self._open_alarm(tenant, resident, EXIT)
        if side is Side.OUTSIDE:
            far = min(f.area.edge_distance_m(fix.point.lat, fix.point.lon) for f in fences)
            where = f"{far:.0f} m outside (fix ±{fix.accuracy:.0f} m)"
            if rec is None:
                new = AlarmRecord(
                    tenant, event_id(NAVET, tenant, resident, EXIT, fix.event), kind=EXIT,
                    priority=Priority.HIGH, resident=resident, device=event.device,
                    location=Location(text=f"outside {names}"[:200], point=fix.point))
                track.followed[new.id] = fix.time
                self._fresh[(tenant, resident, EXIT)] = new
                return [derive("alarm.raised", new, transition="raised", time=fix.time,
                               data={"kind": EXIT, "text": f"left geofence {names}: {where}, "
                                     f"{CONFIRM_FIXES} fixes in a row"[:500]})]
            if track.returned_for == rec.id:
                track.returned_for = None
                track.followed[rec.id] = fix.time
                return [self._update(rec, fix, f"left geofence {names} again: {where}")]
            return []
        if rec is not None and previous is Side.OUTSIDE:
            track.returned_for = rec.id
            track.followed.pop(rec.id, None)
            return [self._update(rec, fix, f"back inside geofence {names}; the alarm stays "
                                           "open until someone closes it")]
        return []

    def _follow(self, track: Track, fix: Fix, tenant: str, resident: str) -> list[EventBase]:
        """Position updates for the resident's open GPS alarms, at most every FOLLOW_S."""
        out: list[EventBase] = []
        for kind in (EXIT, PANIC):
            rec = self._open_alarm(tenant, resident, kind)
            if rec is None or (kind == EXIT and track.returned_for == rec.id):
                continue
            last = track.followed.get(rec.id)
            if last is None:
                track.followed[rec.id] = fix.time  # known from the raise or after a restart
                continue
            if fix.time - last >= timedelta(seconds=FOLLOW_S):
                track.followed[rec.id] = fix.time
                out.append(self._update(rec, fix, "position update", why="follow"))
        for gone in [a for a in track.followed if not self._known(tenant, a)]:
            del track.followed[gone]
        return out

    @staticmethod
    def _update(rec: AlarmRecord, fix: Fix, text: str, why: str = "fence") -> EventBase:
        return derive("alarm.updated", rec, transition="updated", reason=f"{why}:{fix.event}",
                      time=fix.time, data={"text": text[:500], "position": fix.point})

    # ------------------------------------------------------------------ SOS and falls

    def _device_alarm(self, event: EventBase, ctx: RuleContext) -> list[EventBase]:
        tenant, resident = event.tenant, event.resident
        assert resident is not None and event.device is not None
        data: Any = event.data
        kind = str(data.kind)
        if kind not in (str(AlarmKind.PERSONAL_BUTTON), str(AlarmKind.FALL)):
            return []
        rec = self.book.get(tenant, event.alarm or event.id)
        if rec is None or not rec.is_open or rec.history[0].id != event.id:
            return []  # a repeat of a known alarm
        earlier = self.book.find_open(tenant, event.device.id, kind)
        if earlier is not None and earlier.id != rec.id:
            return []  # pressed again while the first is open: the lifecycle rule folds it
        track = self._track(tenant, resident)
        fix = track.last_fix or self._stored_fix(ctx, tenant, resident)
        has_point = event.location is not None and event.location.point is not None
        if kind == str(AlarmKind.FALL) or fix is None:
            return [] if has_point or fix is None else [self._last_known(rec, fix, event)]
        homes = [f for f in self.fences(ctx, tenant, resident)[0] if f.config.kind == "home"]
        fresh = event.time - fix.time <= timedelta(seconds=SOS_FIX_MAX_AGE_S)
        outside = (homes and fresh and fix.accuracy <= MAX_ACCURACY_M
                   and self._side(fix, homes) is Side.OUTSIDE)
        if not outside:
            return [] if has_point else [self._last_known(rec, fix, event)]
        names = ", ".join(f.label for f in homes)
        far = min(f.area.edge_distance_m(fix.point.lat, fix.point.lon) for f in homes)
        open_panic = self._open_alarm(tenant, resident, PANIC)
        if open_panic is not None:
            fold = self._fold(rec, open_panic, event)
            return [derive("alarm.updated", open_panic, transition="updated", reason=rec.id,
                           time=event.time,
                           data={"text": f"SOS pressed again (device alarm {rec.id})",
                                 "position": fix.point, "folded": fold})]
        panic = AlarmRecord(
            tenant, event_id(NAVET, tenant, rec.id, PANIC), kind=PANIC,
            priority=Priority.CRITICAL, resident=resident, device=event.device,
            location=Location(text=f"outside home {names}"[:200], point=fix.point))
        track.followed[panic.id] = fix.time
        self._fresh[(tenant, resident, PANIC)] = panic
        text = (f"SOS pressed {far:.0f} m outside home geofence {names} (position at "
                f"{fix.time:%H:%M:%S} UTC, ±{fix.accuracy:.0f} m); device alarm {rec.id} "
                "is moved here")
        fold = self._fold(rec, panic, event)
        return [derive("alarm.raised", panic, transition="raised", time=event.time,
                       data={"kind": PANIC, "text": text[:500], "code": data.code}),
                derive("alarm.updated", panic, transition="updated", reason=rec.id,
                       time=event.time,
                       data={"text": f"the device's alarm moved here: alarm {rec.id}",
                             "folded": fold})]

    def _fold(self, rec: AlarmRecord, into: AlarmRecord, event: EventBase) -> dict[str, Any]:
        """Fold the device's alarm ``rec`` into ``into`` (the book learns it at once)."""
        repeats = self.book.folds(into) + 1
        self.book.fold(rec.tenant, rec.id, into.id)
        return {"alarm": rec.id, "ref": event.source.ref, "repeats": repeats}

    @staticmethod
    def _last_known(rec: AlarmRecord, fix: Fix, event: EventBase) -> EventBase:
        age = int((event.time - fix.time).total_seconds() // 60)
        return derive("alarm.updated", rec, transition="updated", reason=f"gps:{fix.event}",
                      time=event.time, data={
                          "text": f"no position with the alarm; last known position from "
                                  f"{fix.time:%H:%M} UTC ({age} min earlier)",
                          "position": fix.point})

    @staticmethod
    def _stored_fix(ctx: RuleContext, tenant: str, resident: str) -> Fix | None:
        """The latest stored fix (after a restart, before any new one arrived)."""
        body = ctx.store.read_sync(lambda conn: event_rows.latest_position(conn, tenant, resident))
        if body is None:
            return None
        ev = EventAdapter.validate_json(body)
        return Fix(ev.id, ev.time, ev.data.point)  # type: ignore[attr-defined]


__all__ = ["CONFIRM_FIXES", "GeofenceRule", "enforced", "in_window"]
