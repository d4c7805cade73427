"""Durations as a person writes them: ``90`` or ``90s``, ``30m``, ``8h``, ``2d``, ``1h30m``.

Settings fields that hold seconds (``*_s``) take either form, in the settings file and in
``NAVET_*`` variables alike, and so do the command-line options that take a duration.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_PLAIN = re.compile(r"\d+(?:\.\d+)?")
HOW = "write seconds or a number with a unit, like 90s, 30m, 8h, 2d or 1h30m"


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a plain number of seconds, or parts with units (``1h30m``).

    :raises ValueError: ``text`` is neither; the message says how to write one.
    """
    compact = "".join(str(text).split()).lower()
    if _PLAIN.fullmatch(compact):
        return float(compact)
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: {HOW}")
    units = [u for _, u in parts]
    if len(set(units)) != len(units) or units != sorted(units, key=list(_UNITS).index):
        raise ValueError(f"{text!r} is not a duration: each unit once, largest first ({HOW})")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _coerce(value: Any) -> Any:
    """Strings are parsed; numbers (and anything else) go on to the field's own check."""
    if isinstance(value, str):
        seconds = parse_duration(value)
        return int(seconds) if seconds.is_integer() else seconds
    return value


Seconds = Annotated[float, BeforeValidator(_coerce)]
"""Seconds, also written with units (``30m``)."""

WholeSeconds = Annotated[int, BeforeValidator(_coerce)]
"""Whole seconds, also written with units (``8h``)."""
