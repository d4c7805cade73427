"""Planned visits as concrete time slots, in the tenant's local time.

A plan says "every weekday 07:30-08:00, team norr"; the policies and the
staff API need "this morning 07:30-08:00 Europe/Stockholm, i.e. 06:30-07:00
UTC". :func:`slots` turns plans into such slots around a moment, handling
visits that run past midnight and daylight-saving changes (local wall-clock
times are resolved in the tenant's zone on the day they happen).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ..care import Plan, Staff, Tenant, Visit

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Slot:
    """One planned visit on one day."""

    plan: str
    resident: str
    index: int  # the visit's position in its plan
    visit: Visit
    start: datetime  # aware, tenant local time
    end: datetime

    def window(self, before_s: int, after_s: int) -> tuple[datetime, datetime]:
        return self.start - timedelta(seconds=before_s), self.end + timedelta(seconds=after_s)

    def describe(self) -> str:
        who = f"staff {self.visit.staff}" if self.visit.staff else f"team {self.visit.team}"
        return (f"plan {self.plan} visit {self.start:%a %H:%M}-{self.end:%H:%M} "
                f"({self.start.tzname()}) for {who}")


def assigned(visit: Visit, staff: Staff) -> bool:
    """Whether ``visit`` names this staff member, or a team they belong to."""
    if visit.staff is not None and visit.staff == staff.id:
        return True
    return visit.team is not None and visit.team in staff.teams


def _slots_on(plan: Plan, day: date, zone: ZoneInfo) -> Iterable[Slot]:
    weekday = WEEKDAYS[day.weekday()]
    for i, visit in enumerate(plan.visits):
        if weekday not in visit.days:
            continue
        start = datetime.combine(day, visit.start, zone)
        end_day = day if visit.end > visit.start else day + timedelta(days=1)
        end = datetime.combine(end_day, visit.end, zone)
        yield Slot(plan.id, plan.resident, i, visit, start, end)


def slots(tenant: Tenant, around: datetime, *, resident: str | None = None,
          days: Iterable[int] = (-1, 0, 1)) -> list[Slot]:
    """Planned visits on the local days around ``around`` (yesterday, today, tomorrow
    by default, so a visit past midnight and a grace across midnight are seen),
    ordered by start."""
    zone = ZoneInfo(tenant.timezone)
    today = around.astimezone(zone).date()
    found: list[Slot] = []
    for plan in tenant.plans:
        if resident is not None and plan.resident != resident:
            continue
        for offset in days:
            found.extend(_slots_on(plan, today + timedelta(days=offset), zone))
    return sorted(found, key=lambda s: (s.start, s.plan, s.index))


def local_day(tenant: Tenant, around: datetime) -> tuple[datetime, datetime]:
    """Start and end of the tenant's local day that contains ``around``."""
    zone = ZoneInfo(tenant.timezone)
    day = around.astimezone(zone).date()
    return (datetime.combine(day, datetime.min.time(), zone),
            datetime.combine(day + timedelta(days=1), datetime.min.time(), zone))
