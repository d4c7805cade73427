"""The console's screens and who sees them: navigation by role in one table.

A screen is added by a row here and a route that renders it with
:func:`gateway.api.console.render.page`. A person's home is the first screen
their roles allow, so the operator lands on the alarm queue and home-care
staff on their day (``/console/hemtjanst``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Screen:
    path: str
    label: str  # message key
    roles: frozenset[str]


SCREENS: Final[tuple[Screen, ...]] = (
    Screen("/console/alarms", "nav.alarms", frozenset({"operator"})),
    Screen("/console/hemtjanst", "nav.homecare", frozenset({"staff"})),
    Screen("/console/admin", "nav.admin", frozenset({"admin"})),
    Screen("/console/granskning", "nav.audit", frozenset({"auditor", "admin"})),
    Screen("/live", "nav.live", frozenset({"operator", "admin", "auditor"})),
    Screen("/console/uppfoljning", "nav.followup",
           frozenset({"analyst", "region", "admin", "auditor"})),
    Screen("/console/katalog", "nav.catalogue", frozenset({"admin", "vendor"})),
    Screen("/console/home", "nav.home", frozenset(
        {"operator", "staff", "admin", "vendor", "auditor", "analyst", "region"})),
)


def screens_for(roles: frozenset[str] | set[str]) -> list[Screen]:
    return [s for s in SCREENS if s.roles & set(roles)]


def home_for(roles: frozenset[str] | set[str]) -> str:
    found = screens_for(roles)
    return found[0].path if found else "/console/home"
