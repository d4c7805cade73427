"""Small statistics with their definitions written down, so a reader can recompute them."""

from __future__ import annotations

import math
from collections.abc import Sequence

SUPPRESS_BELOW = 5
"""A count of 1 to 4 people is never shown (0 describes nobody and is shown)."""


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle values for an even count."""
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return float(s[mid]) if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by the nearest-rank method: the smallest value that at least
    90 % of the values do not exceed (``sorted[ceil(0.9 n) - 1]``)."""
    if not values:
        return None
    s = sorted(values)
    return float(s[math.ceil(0.9 * len(s)) - 1])


def suppressed(count: int) -> bool:
    """Whether a count of people is too small to show."""
    return 0 < count < SUPPRESS_BELOW


def age_band(age: int | None) -> str:
    """The age band of an age in whole years (the year of the day minus the birth year)."""
    if age is None:
        return "unknown"
    if age >= 80:
        return "80+"
    if age >= 65:
        return "65-79"
    return "0-64"


AGE_BANDS = ("0-64", "65-79", "80+", "unknown")
SEXES = ("female", "male", "unknown")
HOUSING = ("ordinary", "special", "unknown")
