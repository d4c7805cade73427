"""What the technology did for care: camera checks, doses, door openings, from events.

- **Camera checks** are ``supervision.started`` sessions. A session starting 22:00-07:00
  local time is a night check and belongs to the night that began on the evening before
  (a check at 02:00 on the 5th is the night of the 4th); a period's nights are those that
  begin on its days, so the last night's early-morning checks count in it. A night check *replaced a
  physical visit* unless the same session led to a ``supervision.observation`` finding
  ``needs_visit`` or ``needs_alarm``, or to a ``visit.requested``.
- **Doses**: ``medication.dose_dispensed``, ``dose_taken`` and ``dose_missed``; the share
  taken is taken / (taken + missed).
- **Doors**: a staff opening is a ``lock.unlocked`` whose ``by`` is a member of staff (or,
  without ``by``, whose method is app, remote or code). Planned visits are the weekly
  visits of the plans of residents with a digital lock (a ``door_lock`` device or a
  ``digital_lock`` grant), counted on each day of the period. Time in the home is from a
  staff opening to the next ``lock.locked`` of the same lock, within four hours.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from .period import Period
from .source import Source
from .stats import median

NIGHT_START, NIGHT_END = time(22), time(7)
NEEDS_VISIT = frozenset({"needs_visit", "needs_alarm"})
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_night(local: datetime) -> bool:
    t = local.time()
    return t >= NIGHT_START or t < NIGHT_END


def night_of(local: datetime) -> date:
    """The date of the evening a night check's night began on."""
    return (local - timedelta(hours=12)).date()


def camera_checks(src: Source, period: Period) -> dict[str, Any]:
    needing: set[str] = set()
    for e in src.events:
        session = e.data.get("session")
        if not session:
            continue
        if (e.type == "supervision.observation" and e.data.get("finding") in NEEDS_VISIT) or \
                e.type == "visit.requested":
            needing.add(str(session))
    night, replaced, day = 0, 0, 0
    per_month: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    night_people: set[str] = set()
    day_people: set[str] = set()
    for e in src.events:
        if e.type != "supervision.started":
            continue
        local = period.local(e.time)
        if not is_night(local):
            if period.contains(e.time):
                day += 1
                if e.resident:
                    day_people.add(e.resident)
            continue
        if not period.first <= night_of(local) <= period.last:
            continue
        night += 1
        if e.resident:
            night_people.add(e.resident)
        month = night_of(local).strftime("%Y-%m")
        per_month[month][0] += 1
        if str(e.data.get("session")) not in needing:
            replaced += 1
            per_month[month][1] += 1
    nights = period.days
    months = []
    for month, last in period.months():
        first = max(period.first, last.replace(day=1))
        n = (last - first).days + 1
        checks, repl = per_month.get(month, [0, 0])
        months.append({"month": month, "nights": n, "night_checks": checks,
                       "checks_per_night": round(checks / n, 3), "visits_replaced": repl})
    return {"nights": nights, "night_checks": night, "day_checks": day,
            "checks_per_night": round(night / nights, 3) if nights else None,
            "visits_replaced": replaced,
            "replaced_share_pct": round(100 * replaced / night, 2) if night else None,
            "night_people": len(night_people), "day_people": len(day_people),
            "months": months}


def doses(src: Source, period: Period) -> dict[str, Any]:
    kinds = ("dispensed", "taken", "missed")
    total = dict.fromkeys(kinds, 0)
    per_month: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(kinds, 0))
    for (kind, month), n in src.doses.items():
        total[kind] += n
        per_month[month][kind] += n

    def share(t: dict[str, int]) -> float | None:
        done = t["taken"] + t["missed"]
        return round(100 * t["taken"] / done, 2) if done else None

    return {**total, "taken_share_pct": share(total),
            "months": [{"month": m, **per_month[m], "taken_share_pct": share(per_month[m])}
                       for m, _ in period.months()]}


def doors(src: Source, period: Period) -> dict[str, Any]:
    with_lock = {d["resident"] for d in src.devices if d["kind"] == "door_lock" and d["resident"]}
    for r in src.tenant.residents:
        if any(g.technology == "digital_lock" and g.granted <= period.last and
               (g.ended is None or g.ended > period.first) for g in r.grants):
            with_lock.add(r.id)
    weekday_count: dict[str, int] = defaultdict(int)
    for day in period.iter_days():
        weekday_count[_WEEKDAYS[day.weekday()]] += 1
    planned = 0
    for plan in src.tenant.plans:
        if plan.resident in with_lock:
            planned += sum(weekday_count[d] for v in plan.visits for d in set(v.days))
    openings = src.doors.openings
    stays = list(src.doors.stays_min)
    stay = median(stays)
    return {"openings": openings, "planned_visits": planned,
            "openings_per_visit": round(openings / planned, 3) if planned else None,
            "time_in_home_median_min": round(stay, 1) if stay is not None else None,
            "stays": len(stays)}
