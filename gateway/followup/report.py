"""The follow-up report of one tenant and period, and its indicators with traffic lights.

:func:`build_report` is pure: a :class:`~.source.Source` and a :class:`~.period.Period`
in, JSON-shaped figures out. No figure is entered by hand; the only figures not from
events or the care configuration are the yearly denominators (``followup.statistics``).
"""

from __future__ import annotations

from typing import Any, Literal

from gateway.core.care import AREAS, INDICATORS, TECHNOLOGIES, UNITS_EN, IndicatorDef, Target

from . import care_use, handling, people
from .period import Period
from .source import Source

Status = Literal["green", "yellow", "red", "none"]
Lang = Literal["sv", "en"]

KIND_TECH = {"social_alarm": "social_alarm", "passive_sensor": "passive_alarm",
             "gps_alarm": "gps_alarm", "door_lock": "digital_lock",
             "medication_dispenser": "medication_dispenser", "camera": "camera"}
"""Device kind -> the technology its devices are counted under."""


def status(value: float | None, target: Target | None, direction: str) -> Status:
    """green: the target is met; yellow: short of it but within ``yellow`` (default 80 %
    of the target, or 120 % where lower is better); red: beyond that; none: no target
    or no value."""
    if value is None or target is None:
        return "none"
    t = target.target
    if direction == "higher":
        yellow = target.yellow if target.yellow is not None else 0.8 * t
        return "green" if value >= t else "yellow" if value >= yellow else "red"
    yellow = target.yellow if target.yellow is not None else 1.2 * t
    return "green" if value <= t else "yellow" if value <= yellow else "red"


def target_of(src: Source, d: IndicatorDef, lang: Lang = "sv") -> tuple[Target | None, str]:
    own = src.tenant.followup.targets.get(d.id)
    if own is not None:
        whose = "kommunens eget mål" if lang == "sv" else "the municipality's own target"
        return own, whose + (f" ({own.note})" if own.note else "")
    if d.target is None:
        return None, ""
    return Target(target=d.target), d.target_source


def _growth(now: int, base: int) -> float | None:
    return round(100 * (now - base) / base, 1) if base else None


def build_report(src: Source, period: Period, lang: Lang = "sv") -> dict[str, Any]:
    """Everything follow-up shows for one tenant and period (docs/followup.md)."""
    care = src.tenant
    baseline = care.followup.baseline or period.first
    end_counts = people.users_on(care.residents, period.last)
    base_counts = people.users_on(care.residents, baseline)
    alarms = handling.alarm_handling(src, period)
    vendors = handling.devices_by_vendor(src, period)
    cameras = care_use.camera_checks(src, period)
    doses = care_use.doses(src, period)
    doors = care_use.doors(src, period)
    notes: dict[str, tuple[str, str]] = {}  # id -> (Swedish, English)

    values: dict[str, float | None] = {}
    for tech in TECHNOLOGIES:
        values[f"users.{tech}"] = people.shown(people.total(end_counts, tech))
    for key in ("night_supervision", "day_supervision"):
        now = people.total(end_counts, key, housing="ordinary")
        base = people.total(base_counts, key, housing="ordinary")
        values[f"skr.{key.split('_')[0]}_supervision_growth"] = (
            None if people.suppressed(now) or people.suppressed(base) else _growth(now, base))
        if people.suppressed(now) or people.suppressed(base):
            notes[f"skr.{key.split('_')[0]}_supervision_growth"] = (
                "färre än 5 personer: visas inte", "fewer than 5 people: not shown")
        elif not base:
            what = {"night_supervision": ("digital nattillsyn", "digital night supervision"),
                    "day_supervision": ("digital tillsyn dagtid", "digital daytime supervision")
                    }[key]
            notes[f"skr.{key.split('_')[0]}_supervision_growth"] = (
                f"inga personer i ordinärt boende med {what[0]} på baslinjen {baseline}",
                f"nobody in ordinary housing had {what[1]} on the baseline {baseline}")
    gps80 = people.total(end_counts, "gps_alarm", housing="ordinary", min_age=80)
    stats = care.followup.statistics_for(period.last.year)
    if people.suppressed(gps80):  # a share of a known denominator would give the count
        values["skr.gps_share_80_ordinary"] = None
        notes["skr.gps_share_80_ordinary"] = ("färre än 5 personer: visas inte",
                                              "fewer than 5 people: not shown")
    elif stats is None or not stats.residents_80_ordinary:
        values["skr.gps_share_80_ordinary"] = None
        notes["skr.gps_share_80_ordinary"] = (
            f"nämnaren saknas: ange followup.statistics residents_80_ordinary för "
            f"{period.last.year}",
            f"no denominator: enter followup.statistics residents_80_ordinary for "
            f"{period.last.year}")
    else:
        values["skr.gps_share_80_ordinary"] = round(100 * gps80 / stats.residents_80_ordinary,
                                                    2)
        notes["skr.gps_share_80_ordinary"] = (
            f"{stats.residents_80_ordinary} invånare 80+ i ordinärt boende ({stats.source}, "
            f"{stats.year})",
            f"{stats.residents_80_ordinary} residents 80+ in ordinary housing "
            f"({stats.source}, {stats.year})")
    dispensing = doses["dispensed"] + doses["taken"] + doses["missed"]
    values["skr.dispensers_offered"] = 1 if (
        people.total(end_counts, "medication_dispenser") or dispensing) else 0
    values["skr.locks_ordinary"] = 1 if (
        people.total(end_counts, "digital_lock", housing="ordinary") or
        _ordinary_openings(src, period)) else 0
    whole = alarms["period"]
    values["alarms.raised"] = whole["alarms"]
    for stage in handling.STAGES:
        values[f"alarms.{stage}_median_s"] = whole[stage]["median_s"]
        values[f"alarms.{stage}_p90_s"] = whole[stage]["p90_s"]
    values["devices.silent_alarms"] = vendors["silent_alarms"]
    values["devices.availability"] = vendors["availability_pct"]
    values["supervision.checks_per_night"] = cameras["checks_per_night"]
    values["supervision.visits_replaced"] = cameras["visits_replaced"]
    values["supervision.replaced_share"] = cameras["replaced_share_pct"]
    values["medication.dispensed"] = doses["dispensed"]
    values["medication.taken"] = doses["taken"]
    values["medication.missed"] = doses["missed"]
    values["medication.taken_share"] = doses["taken_share_pct"]
    values["locks.openings_per_visit"] = doors["openings_per_visit"]
    values["locks.planned_visits"] = doors["planned_visits"]
    values["locks.time_in_home_median_min"] = doors["time_in_home_median_min"]

    indicators = []
    sv = lang == "sv"
    if any(d.unit == "personer" and values.get(d.id) is None for d in INDICATORS):
        few = ("färre än 5 personer: visas inte", "fewer than 5 people: not shown")
        for d in INDICATORS:
            if d.unit == "personer" and values.get(d.id) is None:
                notes[d.id] = few
    for d in INDICATORS:
        target, source = target_of(src, d, lang)
        value = values.get(d.id)
        note = notes.get(d.id)
        indicators.append({
            "id": d.id, "area": d.area, "label": d.label_sv if sv else d.label_en,
            "value": value, "unit": d.unit if sv else UNITS_EN.get(d.unit, d.unit),
            "target": target.target if target else None,
            "status": status(value, target, d.direction), "direction": d.direction,
            "target_source": source, "note": (note[0] if sv else note[1]) if note else "",
        })

    series: list[dict[str, Any]] = []
    for month, last in period.months():
        counts = people.users_on(care.residents, last)
        row: dict[str, Any] = {"month": month, "date": last.isoformat()}
        row.update({t: people.shown(people.total(counts, t)) for t in TECHNOLOGIES})
        series.append(row)
    breakdown = people.breakdown_rows(baseline, "baseline", base_counts)
    for month, last in period.months():
        breakdown += people.breakdown_rows(last, month, people.users_on(care.residents, last))
    return {
        "tenant": care.id, "name": care.name,
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat(),
                   "timezone": str(period.tz)},
        "baseline": baseline.isoformat(),
        "areas": {k: v[0] if lang == "sv" else v[1] for k, v in AREAS.items()},
        "indicators": indicators,
        "users": {"baseline": {t: people.shown(people.total(base_counts, t))
                               for t in TECHNOLOGIES},
                  "months": series},
        "devices": _devices(src),
        "breakdown": breakdown,
        "alarm_handling": alarms,
        "vendors": vendors,
        "supervision": cameras,
        "medication": doses,
        "doors": doors,
    }


def _devices(src: Source) -> list[dict[str, Any]]:
    """Configured devices per technology (from the devices' kinds)."""
    counts: dict[str, int] = {}
    for d in src.devices:
        tech = KIND_TECH.get(d["kind"], "other")
        counts[tech] = counts.get(tech, 0) + 1
    return [{"technology": t, "devices": n} for t, n in sorted(counts.items())]


def _ordinary_openings(src: Source, period: Period) -> bool:
    ordinary = {r.id for r in src.tenant.residents if r.housing == "ordinary"}
    return bool(ordinary & src.doors.residents_opened)

