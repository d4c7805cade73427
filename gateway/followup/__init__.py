"""Follow-up (uppföljning): figures the municipality can report, computed, never entered.

Pure computation over stored events and the care configuration, with time injected:

- :mod:`.period` the period asked for (whole local days; default the last 12 months);
- :mod:`.source` the one read of care data and events;
- :mod:`.people` users per technology by sex, age band and housing, with suppression;
- :mod:`.handling` alarm handling times, silent units, availability per vendor;
- :mod:`.care_use` camera checks, doses, door openings;
- :mod:`.report` the report and its indicators with targets and traffic lights;
- :mod:`.survey` the export for Socialstyrelsen's annual survey;
- :mod:`.tables` CSV.

What each figure means, its source and denominator: docs/followup.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.core.care import tenant_care
from gateway.core.store import Store

from .period import YEARS, Period, PeriodError, make_period
from .report import Lang, build_report, status
from .source import load
from .survey import survey_rows

__all__ = ["Period", "PeriodError", "build_report", "make_period", "read_report",
           "read_survey", "status", "survey_rows"]


async def read_report(store: Store, tenant: str, *, now: datetime, first: date | None = None,
                      last: date | None = None, lang: Lang = "sv") -> dict[str, Any] | None:
    """The follow-up report of ``tenant`` (None: not configured). ``now`` is the clock's.

    :raises PeriodError: the period asked for is not one.
    """

    def job(conn: Any) -> dict[str, Any] | None:
        care = tenant_care(store, tenant)
        if care is None:
            return None
        tz = ZoneInfo(care.timezone)
        period = make_period(now.astimezone(tz).date(), tz, first, last)
        return build_report(load(store, conn, care, period), period, lang)

    return await store.read(job)


async def read_survey(store: Store, tenant: str, *, now: datetime,
                      day: date | None = None) -> list[dict[str, Any]] | None:
    """The survey export of ``tenant`` on ``day`` (default: today in its timezone).

    :raises PeriodError: ``day`` is outside the years follow-up covers.
    """
    if day is not None and not YEARS[0] <= day.year <= YEARS[1]:
        raise PeriodError(f"{day} is outside the years follow-up covers "
                          f"({YEARS[0]}-{YEARS[1]})")

    def job(conn: Any) -> list[dict[str, Any]] | None:
        care = tenant_care(store, tenant)
        if care is None:
            return None
        return survey_rows(care, day or now.astimezone(ZoneInfo(care.timezone)).date())

    return await store.read(job)
