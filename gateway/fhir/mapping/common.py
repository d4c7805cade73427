"""Small builders every mapping module shares: times, codings, references to actors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.sdk.model import Actor, ActorKind, EventBase

from ..codes import UCUM, cs
from ..ids import fhir_id, home_id, logical, ref

SYSTEM_DEVICE = "urn:navet:system"


def ts(dt: datetime) -> str:
    """A FHIR instant/dateTime in UTC."""
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def coding(system: str, code: str) -> dict[str, Any]:
    return {"system": system, "code": code}


def concept(name: str, code: str) -> dict[str, Any]:
    """A CodeableConcept with one code from Navet's CodeSystem ``name``."""
    return {"coding": [coding(cs(name), code)]}


def quantity(value: float | int, ucum: str, unit: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit or ucum, "system": UCUM, "code": ucum}


def meta(updated: datetime | None, version: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if version is not None:
        out["versionId"] = str(version)
    if updated is not None:
        out["lastUpdated"] = ts(updated)
    return out


def patient(resident: str) -> dict[str, Any]:
    return ref("Patient", resident)


def device(device_id: str) -> dict[str, Any]:
    return ref("Device", device_id)


def home(resident: str) -> dict[str, Any]:
    return ref("Location", home_id(resident))


def organization(tenant: str) -> dict[str, Any]:
    """The municipality (tenant) as a logical Organization reference."""
    return logical("Organization", "urn:navet:tenant", tenant)


def staff(tenant: str, staff_id: str) -> dict[str, Any]:
    """A member of staff or an operator: a logical Practitioner, by local id only."""
    return logical("Practitioner", f"urn:navet:{tenant}:staff", staff_id)


def actor(tenant: str, who: Actor) -> dict[str, Any]:
    """Who did something, as a reference: staff -> Practitioner, resident -> Patient,
    device -> Device, Navet itself -> a logical Device (the gateway software)."""
    if who.kind in (ActorKind.STAFF, ActorKind.OPERATOR):
        return staff(tenant, who.id)
    if who.kind is ActorKind.RESIDENT:
        return patient(who.id)
    if who.kind is ActorKind.DEVICE:
        return device(who.id)
    return logical("Device", SYSTEM_DEVICE, who.id)


def source_actor(event: EventBase) -> dict[str, Any]:
    """Who an event without a ``by`` comes from: its device, else Navet."""
    if event.device is not None:
        return device(event.device.id)
    return logical("Device", SYSTEM_DEVICE, event.source.adapter)


def event_meta(event: EventBase) -> dict[str, Any]:
    return meta(event.received or event.time)


def base(resource_type: str, navet: str, event: EventBase | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": resource_type, "id": fhir_id(navet)}
    if event is not None:
        out["meta"] = event_meta(event)
    return out
