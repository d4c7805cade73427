"""The rules every gateway runs, whatever the vendor."""

from __future__ import annotations

from typing import Any

from .alarms import AlarmBook, LifecycleRule
from .escalation import EscalationRule
from .findings import SupervisionFindingsRule
from .geofence import GeofenceRule
from .medication import MissedDoseRule
from .passive import PassiveRule
from .supervision import SilentUnitRule, TechnicalAlarmsRule


def builtin_rules() -> list[Any]:
    """Rules in the order they see each event."""
    book = AlarmBook()  # open alarms, shared by the alarm rules; the lifecycle rule goes first
    medication = MissedDoseRule(book)
    return [LifecycleRule(book), EscalationRule(book, routes=[medication.route]),
            TechnicalAlarmsRule(book), SilentUnitRule(book), PassiveRule(book), medication,
            GeofenceRule(book), SupervisionFindingsRule()]
