"""Residents per technology, by sex, age band and housing, on any day.

A resident uses a technology on a day when one of their grant decisions for it applies on
that day (``granted`` on or before it, ``ended`` after it). Age is the day's year minus
the birth year. Housing and sex are as the care configuration says now.

Breakdown cells of 1 to 4 people are suppressed; when a technology's total is shown and
only one of its cells would be suppressed, the smallest other non-zero cell is suppressed
too, so the hidden one cannot be found by subtraction.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from gateway.core.care import TECHNOLOGIES, Resident

from .stats import AGE_BANDS, HOUSING, SEXES, age_band, suppressed

__all__ = ["breakdown_rows", "shown", "suppressed", "total", "users_on"]

Cell = tuple[str, str, str, str]
"""(technology, sex, age band, housing)."""


def users_on(residents: list[Resident], day: date) -> Counter[Cell]:
    """How many residents use each technology on ``day``, per cell."""
    out: Counter[Cell] = Counter()
    for r in residents:
        age = day.year - r.birth_year if r.birth_year is not None else None
        key = (r.sex or "unknown", age_band(age), r.housing or "unknown")
        for tech in sorted({g.technology for g in r.grants if g.active_on(day)}):
            out[(tech, *key)] += 1
    return out


def total(counts: Counter[Cell], tech: str, *, housing: str | None = None,
          min_age: int | None = None) -> int:
    """People using ``tech`` (in ``housing``; in the 80+ band when ``min_age`` is 80)."""
    n = 0
    for (t, _sex, band, hous), count in counts.items():
        if t != tech or (housing is not None and hous != housing):
            continue
        if min_age == 80 and band != "80+":
            continue
        n += count
    return n


def breakdown_rows(day: date, label: str, counts: Counter[Cell]) -> list[dict[str, Any]]:
    """Every cell of ``counts`` for ``day`` (zeros included), suppressed where needed."""
    rows: list[dict[str, Any]] = []
    for tech in TECHNOLOGIES:
        cells = [(sex, band, hous, counts.get((tech, sex, band, hous), 0))
                 for sex in SEXES for band in AGE_BANDS for hous in HOUSING]
        hidden = {i for i, c in enumerate(cells) if suppressed(c[3])}
        if len(hidden) == 1:  # the tech total is shown: one hidden cell is a subtraction away
            others = [(c[3], i) for i, c in enumerate(cells) if i not in hidden and c[3] > 0]
            if others:
                hidden.add(min(others)[1])
        for i, (sex, band, hous, count) in enumerate(cells):
            rows.append({"date": day.isoformat(), "point": label, "technology": tech,
                         "sex": sex, "age_band": band, "housing": hous,
                         "persons": None if i in hidden else count,
                         "suppressed": i in hidden})
    return rows


def shown(count: int) -> int | None:
    """A headline count of people, or None when it is too small to show."""
    return None if suppressed(count) else count
