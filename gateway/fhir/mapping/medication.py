"""Dispenser events: released dose = MedicationDispense; taken or missed = MedicationAdministration.

A missed dose is ``status = not-done`` with a coded ``statusReason`` (the R5
way to say "was not given"), timed at when it was scheduled. R5 spells the
element ``occurence[x]`` (one r); fhir.resources rejects ``occurrence``.
"""

from __future__ import annotations

from typing import Any

from gateway.sdk.model import EventBase

from ..ids import ref
from .common import base, concept, device, patient, ts

MEDICATION_TYPES = ("medication.dose_dispensed", "medication.dose_taken",
                    "medication.dose_missed")


def dose_key(event: EventBase) -> tuple[str | None, str]:
    """What identifies one dose across its events: the dispenser and the vendor's dose id."""
    return (event.device.id if event.device else None, event.data.dose)  # type: ignore[attr-defined]


def _medication(event: EventBase) -> dict[str, Any]:
    d: Any = event.data
    return {"concept": {"text": d.medication or f"dose {d.dose}"}}


def _identifier(event: EventBase) -> list[dict[str, Any]]:
    dev, dose = dose_key(event)
    return [{"system": "urn:navet:dose", "value": f"{dev or '-'}/{dose}"}]


def dispense(event: EventBase) -> dict[str, Any] | None:
    """``medication.dose_dispensed`` -> MedicationDispense (None without a resident)."""
    if event.type != "medication.dose_dispensed" or not event.resident:
        return None
    out = base("MedicationDispense", event.id, event)
    out["identifier"] = _identifier(event)
    out["status"] = "completed"
    out["category"] = [concept("medication-event", "dispensed")]
    out["medication"] = _medication(event)
    out["subject"] = patient(event.resident)
    if event.device is not None:
        out["performer"] = [{"actor": device(event.device.id)}]
    out["whenHandedOver"] = ts(event.time)
    return out


def administration(event: EventBase, dispensed_id: str | None = None) -> dict[str, Any] | None:
    """``dose_taken`` -> completed, ``dose_missed`` -> not-done (None without a resident)."""
    if event.type not in ("medication.dose_taken", "medication.dose_missed") \
            or not event.resident:
        return None
    d: Any = event.data
    taken = event.type == "medication.dose_taken"
    out = base("MedicationAdministration", event.id, event)
    out["identifier"] = _identifier(event)
    out["status"] = "completed" if taken else "not-done"
    if not taken:
        out["statusReason"] = [concept("dose-not-taken-reason", "not-taken-in-window")]
    if dispensed_id is not None:
        out["partOf"] = [ref("MedicationDispense", dispensed_id)]
    out["medication"] = _medication(event)
    out["subject"] = patient(event.resident)
    out["occurenceDateTime"] = ts(event.time if taken else d.scheduled)
    out["recorded"] = ts(event.received or event.time)
    if taken:
        out["performer"] = [{"actor": {"reference": patient(event.resident)}}]
    if event.device is not None:
        out["device"] = [{"reference": device(event.device.id)}]
    return out
