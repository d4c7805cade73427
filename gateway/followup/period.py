"""The period a follow-up covers: whole local days in the tenant's timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.errors import NavetError


class PeriodError(NavetError):
    """A period that cannot be followed up (ends before it starts, too long)."""


MAX_DAYS = 3 * 366
"""The longest period one request may cover."""
YEARS = (1990, 2200)
"""The years a period may touch."""


@dataclass(frozen=True)
class Period:
    """``first`` to ``last``, both included, as local days of ``tz``."""

    first: date
    last: date
    tz: ZoneInfo
    start: datetime = field(init=False)
    """The first instant of ``first``, in UTC."""
    end: datetime = field(init=False)
    """The first instant after ``last`` (exclusive), in UTC."""

    def __post_init__(self) -> None:  # computed once: every event is checked against them
        object.__setattr__(self, "start", local_midnight(self.first, self.tz))
        object.__setattr__(self, "end", local_midnight(self.last + timedelta(days=1), self.tz))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.tz)

    def month_of(self, when: datetime) -> str:
        local = when.astimezone(self.tz)
        return f"{local.year:04d}-{local.month:02d}"

    def months(self) -> list[tuple[str, date]]:
        """Each month the period touches, as (``YYYY-MM``, its last day inside the period)."""
        out: list[tuple[str, date]] = []
        day = self.first
        while day <= self.last:
            nxt = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            out.append((day.strftime("%Y-%m"), min(nxt - timedelta(days=1), self.last)))
            day = nxt
        return out

    def iter_days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.days)]


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def make_period(today: date, tz: ZoneInfo, first: date | None = None,
                last: date | None = None) -> Period:
    """The period asked for; without ``first``, the twelve months up to ``last`` (default
    ``today``): from the first day of the month eleven months before, so every month of the
    series is a whole calendar month except the current one.

    :raises PeriodError: ``last`` before ``first``, or longer than :data:`MAX_DAYS`.
    """
    last = last or today
    for day in (first, last):
        if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
            raise PeriodError(f"{day} is outside the years follow-up covers "
                              f"({YEARS[0]}-{YEARS[1]})")
    if first is None:
        month = last.year * 12 + last.month - 1 - 11
        first = date(month // 12, month % 12 + 1, 1)
    if last < first:
        raise PeriodError(f"the period ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_DAYS:
        raise PeriodError(f"the period {first} to {last} is longer than {MAX_DAYS} days; "
                          "ask for a shorter one")
    return Period(first, last, tz)
