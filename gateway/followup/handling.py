"""Alarm handling times, silent units and device availability, from stored events.

- An alarm counts in the month (local time) it was raised, if raised inside the period and
  not technical (``technical.*`` kinds are device health, not a person's call). Its times
  run from ``alarm.raised`` to the first ``alarm.acknowledged``, ``alarm.attended`` and
  ``alarm.closed`` of the same alarm; a stage never reached is left out of that stage.
- Unavailability of a device is each ``technical.unit_silent`` or ``technical.link_lost``
  episode, from its ``alarm.raised`` to the first ``alarm.closed``, ``alarm.cancelled`` or
  ``device.online`` of that alarm (or the period's end), clipped to the period. Navet
  notices a silent unit only after its tolerance, so availability is measured from then.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from .period import Period
from .source import Ev, Source
from .stats import median, p90

STAGES = ("acknowledged", "attended", "closed")
DOWN_KINDS = ("technical.unit_silent", "technical.link_lost")
UNKNOWN_VENDOR = "unknown"


def _first_after(events: list[Ev]) -> dict[tuple[str, str], datetime]:
    """(alarm, type) -> the first time that type happened to that alarm."""
    first: dict[tuple[str, str], datetime] = {}
    for e in events:
        if e.alarm and e.type.startswith(("alarm.", "device.online")):
            first.setdefault((e.alarm, e.type), e.time)
    return first


def alarm_handling(src: Source, period: Period) -> dict[str, Any]:
    """Per month and for the whole period: count, median and p90 seconds per stage."""
    first = _first_after(src.events)
    durations: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, int] = defaultdict(int)
    for e in src.events:
        if e.type != "alarm.raised" or not period.contains(e.time) or not e.alarm:
            continue
        if str(e.data.get("kind", "")).startswith("technical."):
            continue
        month = period.month_of(e.time)
        counts[month] += 1
        counts["all"] += 1
        for stage in STAGES:
            at = first.get((e.alarm, f"alarm.{stage}"))
            if at is not None and at >= e.time:
                secs = (at - e.time).total_seconds()
                durations[month][stage].append(secs)
                durations["all"][stage].append(secs)

    def figures(key: str) -> dict[str, Any]:
        out: dict[str, Any] = {"alarms": counts.get(key, 0)}
        for stage in STAGES:
            values = durations[key][stage]
            out[stage] = {"n": len(values), "median_s": median(values), "p90_s": p90(values)}
        return out

    return {"months": [{"month": m, **figures(m)} for m, _ in period.months()],
            "period": figures("all")}


def devices_by_vendor(src: Source, period: Period) -> dict[str, Any]:
    """Per vendor: devices, silent-unit alarms, availability in % over the period."""
    vendor_of = {d["id"]: d["vendor"] or UNKNOWN_VENDOR for d in src.devices}
    first = _first_after(src.events)
    silent: dict[str, int] = defaultdict(int)
    down: dict[str, float] = defaultdict(float)
    for e in src.events:
        if e.type != "alarm.raised" or e.data.get("kind") not in DOWN_KINDS or not e.alarm:
            continue
        vendor = vendor_of.get(e.device or "") or e.vendor or UNKNOWN_VENDOR
        if e.device and e.device not in vendor_of:
            vendor_of[e.device] = vendor  # heard from, never configured: still counted
        if e.data.get("kind") == "technical.unit_silent" and period.contains(e.time):
            silent[vendor] += 1
        ends = [first.get((e.alarm, t)) for t in ("alarm.closed", "alarm.cancelled",
                                                  "device.online")]
        end = min([t for t in ends if t is not None and t >= e.time], default=period.end)
        start, stop = max(e.time, period.start), min(end, period.end)
        if stop > start:
            down[vendor] += (stop - start).total_seconds()
    span = (period.end - period.start).total_seconds()
    devices: dict[str, int] = defaultdict(int)
    for vendor in vendor_of.values():
        devices[vendor] += 1
    rows = []
    for vendor in sorted(devices):
        rows.append({"vendor": vendor, "devices": devices[vendor],
                     "silent_alarms": silent.get(vendor, 0),
                     "unavailable_s": round(down.get(vendor, 0.0)),
                     "availability_pct": _availability(down.get(vendor, 0.0),
                                                       devices[vendor], span)})
    n_all = sum(devices.values())
    return {"vendors": rows, "silent_alarms": sum(silent.values()),
            "availability_pct": _availability(sum(down.values()), n_all, span)}


def _availability(down_s: float, devices: int, span_s: float) -> float | None:
    if devices == 0 or span_s <= 0:
        return None
    return round(100 * (1 - down_s / (devices * span_s)), 3)
