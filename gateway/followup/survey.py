"""An export shaped for Socialstyrelsen's annual survey "E-hälsa och välfärdsteknik i
kommunerna": per technology and housing form, whether the municipality offers it and how
many people have it on the survey's reference day, in total, by sex and aged 80+.

The survey's own question numbers change from year to year and its form is not ours to
copy, so each row names its question in words (docs/followup.md maps them to the survey's
topics). Counts of 1 to 4 people are suppressed, as everywhere in follow-up.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.core.care import TECHNOLOGIES, Tenant

from . import people
from .stats import suppressed

TECH_SV = {
    "social_alarm": "digitalt trygghetslarm", "passive_alarm": "passivt larm",
    "gps_alarm": "GPS-larm", "digital_lock": "digitalt lås",
    "medication_dispenser": "läkemedelsautomat", "night_supervision": "digital nattillsyn",
    "day_supervision": "digital tillsyn dagtid",
}
SEX_SV = {"female": "kvinnor", "male": "män", "unknown": "kön okänt"}
HOUSING_SV = {"ordinary": "ordinärt boende", "special": "särskilt boende"}


def survey_rows(care: Tenant, day: date) -> list[dict[str, Any]]:
    """The survey rows for ``care`` on reference day ``day``."""
    counts = people.users_on(care.residents, day)
    rows: list[dict[str, Any]] = []

    def add(item: str, question: str, tech: str, housing: str, sex: str, value: int | None,
            hidden: bool = False) -> None:
        rows.append({"reference_date": day.isoformat(), "municipality": care.id,
                     "item": item, "question": question, "technology": tech, "housing": housing,
                     "sex": sex, "value": None if hidden else value, "suppressed": hidden})

    for tech in TECHNOLOGIES:
        for housing in ("ordinary", "special"):
            cells = {k: v for k, v in counts.items() if k[0] == tech and k[3] == housing}
            n = sum(cells.values())
            where = f"{TECH_SV[tech]} i {HOUSING_SV[housing]}"
            add("offered", f"Erbjuder kommunen {where}? (1 = ja, 0 = nej)", tech, housing,
                "all", 1 if n else 0)
            add("persons", f"Antal personer med {where}", tech, housing, "all", n,
                suppressed(n))
            by_sex = {s: sum(v for k, v in cells.items() if k[1] == s)
                      for s in ("female", "male", "unknown")}
            hidden = {s for s, v in by_sex.items() if suppressed(v)}
            if len(hidden) == 1:  # the total is shown: hide the next smallest too
                rest = sorted((v, s) for s, v in by_sex.items() if s not in hidden and v)
                if rest:
                    hidden.add(rest[0][1])
            for s, v in by_sex.items():
                add("persons", f"Antal personer med {where}, {SEX_SV[s]}", tech, housing, s, v,
                    s in hidden)
            n80 = sum(v for k, v in cells.items() if k[2] == "80+")
            add("persons_80", f"Antal personer 80 år och äldre med {where}", tech, housing,
                "all", n80, suppressed(n80))
    return rows
