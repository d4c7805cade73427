"""What the municipality's follow-up needs from the care configuration.

- on each resident: sex, birth year, housing (ordinary or special housing) and the grant
  decisions (biståndsbeslut) per technology with their dates, so that users per
  technology can be counted by sex, age band and housing on any day, baseline included;
- on each tenant, ``followup``: the baseline date, the municipality's own targets per
  indicator, and the denominators no event can give (residents 80+ in ordinary housing
  and the like, from official statistics), entered once a year.

The indicators themselves are computed by :mod:`gateway.followup`; what each id means,
its unit and the default target live in :data:`INDICATORS` here, because a target for an
id nobody computes must be refused when the care configuration is read, not ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Technology = Literal["social_alarm", "passive_alarm", "gps_alarm", "digital_lock",
                     "medication_dispenser", "night_supervision", "day_supervision"]
"""The welfare technologies a resident can be granted (the six most common, with digital
supervision split into night and day as SKR's indicators follow them)."""

TECHNOLOGIES: Final[tuple[Technology, ...]] = get_args(Technology)

Sex = Literal["female", "male"]
Housing = Literal["ordinary", "special"]
"""``ordinary``: the resident's own home (incl. senior and trygghetsboende); ``special``:
special housing for the elderly (SÄBO)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Grant(_Model):
    """A grant decision: the resident has ``technology`` from ``granted`` until ``ended``."""

    technology: Technology
    granted: date = Field(description="The first day the decision applies.")
    ended: date | None = Field(
        default=None, description="The first day it no longer applies (decision ended, "
        "technology returned); none: still in force.")
    decision: str = Field(
        default="", max_length=200,
        description="Where the decision is documented, e.g. 'SoL 4 kap. 1 §, beslut "
        "2026-0412'. Never a personal number.")

    @model_validator(mode="after")
    def _ends_after_start(self) -> Grant:
        if self.ended is not None and self.ended <= self.granted:
            raise ValueError(f"grant of {self.technology}: ended {self.ended} is not after "
                             f"granted {self.granted}")
        return self

    def active_on(self, day: date) -> bool:
        return self.granted <= day and (self.ended is None or day < self.ended)


def check_grants(grants: list[Grant]) -> None:
    """:raises ValueError: two grants of one technology overlap (the resident would count
    twice)."""
    by_tech: dict[str, list[Grant]] = {}
    for g in grants:
        by_tech.setdefault(g.technology, []).append(g)
    for tech, items in by_tech.items():
        items.sort(key=lambda g: g.granted)
        for before, after in pairwise(items):
            if before.ended is None or after.granted < before.ended:
                raise ValueError(f"two grants of {tech} overlap (from {before.granted} and "
                                 f"from {after.granted}); end the first before the second "
                                 "starts")


Direction = Literal["higher", "lower"]


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    """One indicator: what it is, in which area, which way is better, default target."""

    id: str
    area: str
    unit: str
    direction: Direction
    label_sv: str
    label_en: str
    target: float | None = None
    target_source: str = ""


AREAS: Final = {
    "larm": ("Trygghetslarm och larmhantering", "Social alarms and alarm handling"),
    "teknik": ("Teknik och tillgänglighet", "Devices and availability"),
    "tillsyn": ("Digital tillsyn", "Digital supervision"),
    "lakemedel": ("Läkemedel", "Medication"),
    "las": ("Digitala lås", "Digital locks"),
    "anvandare": ("Användare per teknik", "Users per technology"),
    "skr": ("SKR:s mål", "SKR targets"),
}
"""Area id -> (Swedish, English) name; the follow-up screen draws one radar per area."""

_SKR = "SKR 2020, mål för 2022 (Vård- och omsorgsanalys PM 2021:2 §4.9)"
_NAVET = "Navets standard; sätt kommunens eget mål"

INDICATORS: Final[tuple[IndicatorDef, ...]] = (
    # SKR's indicators (reference/welfare-domain.md §5)
    IndicatorDef("skr.night_supervision_growth", "skr", "%", "higher",
                 "Ökning av personer i ordinärt boende med digital nattillsyn sedan baslinjen",
                 "Growth of people in ordinary housing with digital night supervision since "
                 "the baseline", 200, _SKR),
    IndicatorDef("skr.day_supervision_growth", "skr", "%", "higher",
                 "Ökning av personer i ordinärt boende med digital tillsyn dagtid sedan "
                 "baslinjen",
                 "Growth of people in ordinary housing with digital daytime supervision "
                 "since the baseline", 100, _SKR),
    IndicatorDef("skr.gps_share_80_ordinary", "skr", "%", "higher",
                 "Andel invånare 80+ i ordinärt boende med GPS-larm beviljat enligt SoL",
                 "Share of residents 80+ in ordinary housing with a GPS alarm granted under "
                 "the Social Services Act", 2, _SKR),
    IndicatorDef("skr.dispensers_offered", "skr", "ja/nej", "higher",
                 "Läkemedelsautomater finns för enskilda (1 = ja)",
                 "Medication dispensers available to individuals (1 = yes)", 1, _SKR),
    IndicatorDef("skr.locks_ordinary", "skr", "ja/nej", "higher",
                 "Digitala lås används i ordinärt boende (1 = ja)",
                 "Digital locks in use in ordinary housing (1 = yes)", 1, _SKR),
    # users per technology (introduced and used)
    *(IndicatorDef(f"users.{tech}", "anvandare", "personer", "higher", sv, en)
      for tech, sv, en in (
          ("social_alarm", "Personer med trygghetslarm", "People with a social alarm"),
          ("passive_alarm", "Personer med passivt larm", "People with a passive alarm"),
          ("gps_alarm", "Personer med GPS-larm", "People with a GPS alarm"),
          ("digital_lock", "Personer med digitalt lås", "People with a digital lock"),
          ("medication_dispenser", "Personer med läkemedelsautomat",
           "People with a medication dispenser"),
          ("night_supervision", "Personer med digital nattillsyn",
           "People with digital night supervision"),
          ("day_supervision", "Personer med digital tillsyn dagtid",
           "People with digital daytime supervision"),
      )),
    # alarm handling
    IndicatorDef("alarms.raised", "larm", "larm", "lower", "Larm (ej tekniska)",
                 "Alarms (not technical)"),
    IndicatorDef("alarms.acknowledged_median_s", "larm", "s", "lower",
                 "Tid till kvittering, median", "Time to acknowledge, median", 60, _NAVET),
    IndicatorDef("alarms.acknowledged_p90_s", "larm", "s", "lower",
                 "Tid till kvittering, 90:e percentil", "Time to acknowledge, 90th percentile",
                 120, _NAVET),
    IndicatorDef("alarms.attended_median_s", "larm", "s", "lower",
                 "Tid till på plats, median", "Time to attend, median", 1800, _NAVET),
    IndicatorDef("alarms.attended_p90_s", "larm", "s", "lower",
                 "Tid till på plats, 90:e percentil", "Time to attend, 90th percentile",
                 2700, _NAVET),
    IndicatorDef("alarms.closed_median_s", "larm", "s", "lower",
                 "Tid till avslut, median", "Time to close, median", 3600, _NAVET),
    IndicatorDef("alarms.closed_p90_s", "larm", "s", "lower",
                 "Tid till avslut, 90:e percentil", "Time to close, 90th percentile",
                 5400, _NAVET),
    # devices
    IndicatorDef("devices.silent_alarms", "teknik", "larm", "lower",
                 "Larm om tysta enheter", "Silent-unit alarms"),
    IndicatorDef("devices.availability", "teknik", "%", "higher",
                 "Enheternas tillgänglighet", "Device availability", 99.5, _NAVET),
    # camera supervision
    IndicatorDef("supervision.checks_per_night", "tillsyn", "tillsyn/natt", "higher",
                 "Kameratillsyn per natt", "Camera checks per night"),
    IndicatorDef("supervision.visits_replaced", "tillsyn", "besök", "higher",
                 "Fysiska nattbesök som kameratillsyn ersatte",
                 "Physical night visits the camera checks replaced"),
    IndicatorDef("supervision.replaced_share", "tillsyn", "%", "higher",
                 "Andel nattillsyn utan behov av besök",
                 "Share of night checks that needed no visit", 80, _NAVET),
    # medication
    IndicatorDef("medication.dispensed", "lakemedel", "doser", "higher",
                 "Doser utlämnade", "Doses dispensed"),
    IndicatorDef("medication.taken", "lakemedel", "doser", "higher",
                 "Doser tagna", "Doses taken"),
    IndicatorDef("medication.missed", "lakemedel", "doser", "lower",
                 "Doser missade", "Doses missed"),
    IndicatorDef("medication.taken_share", "lakemedel", "%", "higher",
                 "Andel tagna doser av tagna och missade",
                 "Share of doses taken of taken and missed", 95, _NAVET),
    # locks
    IndicatorDef("locks.openings_per_visit", "las", "öppningar/besök", "lower",
                 "Dörröppningar per planerat besök", "Door openings per planned visit",
                 1.2, _NAVET),
    IndicatorDef("locks.planned_visits", "las", "besök", "higher",
                 "Planerade besök hos personer med digitalt lås",
                 "Planned visits to people with a digital lock"),
    IndicatorDef("locks.time_in_home_median_min", "las", "min", "higher",
                 "Tid i hemmet per besök, median", "Time in the home per visit, median"),
)
"""Every indicator Navet computes, in the order it reports them (docs/followup.md)."""

INDICATOR_IDS: Final = frozenset(d.id for d in INDICATORS)

UNITS_EN: Final = {"personer": "people", "larm": "alarms", "ja/nej": "yes/no",
                   "tillsyn/natt": "checks/night", "besök": "visits", "doser": "doses",
                   "öppningar/besök": "openings/visit"}
"""The units in English (``s``, ``%`` and ``min`` are the same in both)."""


class Target(_Model):
    """The municipality's own target for one indicator, and where yellow begins."""

    target: float
    yellow: float | None = Field(
        default=None, description="Where yellow begins: below the target (or above, for an "
        "indicator where lower is better) but not past this is yellow, past it red. "
        "Default: 80 % of the target (120 % where lower is better).")
    note: str = Field(default="", max_length=200, description="Whose decision, e.g. "
                      "'Äldrenämnden 2026-03-12 §14'.")


class YearStatistics(_Model):
    """Denominators for one year that no event can give, from official statistics."""

    year: int = Field(ge=2000, le=2100)
    residents_80_ordinary: int | None = Field(
        default=None, ge=0, description="Residents aged 80+ living in ordinary housing in "
        "the municipality (e.g. SCB / Kolada), the denominator of SKR's GPS target.")
    residents_80: int | None = Field(default=None, ge=0,
                                     description="Residents aged 80+ in the municipality.")
    residents_65: int | None = Field(default=None, ge=0,
                                     description="Residents aged 65+ in the municipality.")
    source: str = Field(min_length=1, max_length=200,
                        description="Where the figures come from, e.g. 'SCB, folkmängd "
                        "31 dec 2025; Kolada U21468'.")


class FollowupSettings(_Model):
    """A tenant's follow-up: baseline, own targets, yearly denominators (docs/followup.md)."""

    baseline: date | None = Field(
        default=None, description="The day figures are compared against (e.g. go-live); "
        "default: the first day of the period asked for.")
    targets: dict[str, Target] = Field(
        default_factory=dict, description="Indicator id -> the municipality's own target; "
        "indicators not named keep Navet's default target (docs/followup.md).")
    statistics: list[YearStatistics] = Field(
        default_factory=list, description="Denominators per year; merged by year.")

    @field_validator("targets")
    @classmethod
    def _known(cls, value: dict[str, Target]) -> dict[str, Target]:
        unknown = sorted(set(value) - INDICATOR_IDS)
        if unknown:
            raise ValueError(f"unknown indicator(s) {', '.join(unknown)}; the indicators are "
                             f"{', '.join(d.id for d in INDICATORS)}")
        return value

    @field_validator("statistics")
    @classmethod
    def _one_per_year(cls, value: list[YearStatistics]) -> list[YearStatistics]:
        years = [s.year for s in value]
        twice = sorted({y for y in years if years.count(y) > 1})
        if twice:
            raise ValueError(f"statistics for {twice[0]} are given twice; give each year once")
        return value

    def statistics_for(self, year: int) -> YearStatistics | None:
        """The newest statistics for ``year`` or an earlier year (populations move slowly;
        a year not entered yet uses the last one entered)."""
        found = [s for s in self.statistics if s.year <= year]
        return max(found, key=lambda s: s.year) if found else None


def merge_followup(stored: dict[str, object] | None, given: dict[str, object]
                   ) -> dict[str, object]:
    """``followup`` merges like the rest of a care document: fields left out keep their
    stored value, ``targets`` merge by indicator id and ``statistics`` by year."""
    out = dict(stored or {})
    for key, value in given.items():
        if key == "targets" and isinstance(value, dict):
            out[key] = {**dict(out.get(key) or {}), **value}  # type: ignore[call-overload]
        elif key == "statistics" and isinstance(value, list):
            years = {int(s["year"]): s for s in out.get(key) or []}  # type: ignore[attr-defined]
            for item in value:
                years[int(item["year"])] = {**years.get(int(item["year"]), {}), **item}
            out[key] = [years[y] for y in sorted(years)]
        else:
            out[key] = value
    return out
