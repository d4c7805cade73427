"""Readings and device states as Observations (one per event, id = event id).

Sensor readings, positions and supervision findings are about the resident
(``subject`` Patient, ``device`` the sensor); battery, connectivity, faults,
tamper and refills are about the device (``subject`` Device): technical, not
clinical.
"""

from __future__ import annotations

from typing import Any

from gateway.sdk.model import EventBase

from ..ids import ref
from .common import base, concept, device, patient, quantity, staff, ts

OBSERVATION_TYPES = (
    "sensor.reported", "position.reported", "device.battery", "device.online", "device.offline",
    "device.fault", "device.tamper", "medication.refill_needed", "supervision.observation",
)
DEVICE_STATUS_TYPES = ("device.online", "device.offline", "device.battery", "device.fault",
                       "device.tamper")

_BOOLEAN_READINGS = {"contact": "contact-closed", "occupancy": "occupancy",
                     "water_leak": "water-leak", "vibration": "vibration", "smoke": "smoke",
                     "fall": "fall"}
_QUANTITY_READINGS = {"temperature_c": ("temperature", "Cel", "°C"),
                      "humidity_pct": ("humidity", "%", "%"),
                      "illuminance_lux": ("illuminance", "lx", "lx")}


def _component(code: str, value_key: str, value: Any) -> dict[str, Any]:
    return {"code": concept("observation", code), value_key: value}


def observation(event: EventBase) -> dict[str, Any] | None:
    """The Observation for ``event``, or None if the event is not an observation."""
    if event.type not in OBSERVATION_TYPES:
        return None
    d: Any = event.data
    out = base("Observation", event.id, event)
    out["status"] = "final"
    about_device = event.type.startswith("device.") or event.type == "medication.refill_needed"
    category = {"sensor.reported": "sensor", "position.reported": "position",
                "supervision.observation": "supervision",
                "medication.refill_needed": "medication"}.get(event.type, "technical")
    out["category"] = [concept("observation-category", category)]
    components: list[dict[str, Any]] = []
    notes: list[str] = []
    t = event.type
    if t == "sensor.reported":
        out["code"] = concept("observation", "sensor-readings")
        readings = d.readings
        for field, code in _BOOLEAN_READINGS.items():
            value = getattr(readings, field)
            if value is not None:
                components.append(_component(code, "valueBoolean", value))
        for field, (code, ucum, unit) in _QUANTITY_READINGS.items():
            value = getattr(readings, field)
            if value is not None:
                components.append(_component(code, "valueQuantity", quantity(value, ucum, unit)))
        if d.link_quality is not None:
            components.append(_component("link-quality", "valueInteger", d.link_quality))
    elif t == "position.reported":
        out["code"] = concept("observation", "position")
        p = d.point
        components += [_component("latitude", "valueQuantity", quantity(p.lat, "deg")),
                       _component("longitude", "valueQuantity", quantity(p.lon, "deg"))]
        if p.accuracy_m is not None:
            components.append(_component("accuracy", "valueQuantity", quantity(p.accuracy_m, "m")))
        if d.speed_mps is not None:
            components.append(_component("speed", "valueQuantity", quantity(d.speed_mps, "m/s")))
        notes.append(f"reason: {d.reason}")
    elif t == "device.battery":
        out["code"] = concept("observation", "battery")
        if d.level_pct is not None:
            components.append(_component("battery-level", "valueQuantity",
                                         quantity(d.level_pct, "%")))
        components.append(_component("battery-low", "valueBoolean", d.low))
        if d.voltage_mv is not None:
            components.append(_component("battery-voltage", "valueQuantity",
                                         quantity(d.voltage_mv, "mV")))
    elif t in ("device.online", "device.offline"):
        out["code"] = concept("observation", "connectivity")
        out["valueBoolean"] = t == "device.online"
        if t == "device.online" and d.silent_s is not None:
            components.append(_component("silent-seconds", "valueQuantity",
                                         quantity(d.silent_s, "s")))
        if t == "device.offline":
            notes.append(d.reason)
    elif t == "device.fault":
        out["code"] = concept("observation", "fault")
        out["valueBoolean"] = d.active
        components.append(_component("fault-kind", "valueCodeableConcept",
                                     concept("fault-kind", str(d.kind))))
        if d.text:
            notes.append(d.text)
    elif t == "device.tamper":
        out["code"] = concept("observation", "tamper")
        out["valueBoolean"] = d.active
    elif t == "medication.refill_needed":
        out["code"] = concept("observation", "remaining-doses")
        out["valueQuantity"] = quantity(d.remaining_doses, "{doses}", "doses")
    else:  # supervision.observation
        out["code"] = concept("observation", "supervision-finding")
        out["valueCodeableConcept"] = concept("supervision-finding", str(d.finding))
        if d.note:
            notes.append(d.note)
    if about_device and event.device is not None:
        out["subject"] = device(event.device.id)
    elif event.resident:
        out["subject"] = patient(event.resident)
    elif event.device is not None:
        out["subject"] = device(event.device.id)
    if t == "supervision.observation":
        if d.session:
            out["encounter"] = ref("Encounter", d.session)
        out["performer"] = [staff(event.tenant, d.by.id)]
    out["effectiveDateTime"] = ts(event.time)
    out["issued"] = ts(event.received or event.time)
    if event.device is not None:
        out["device"] = device(event.device.id)
    if components:
        out["component"] = components
    if notes:
        out["note"] = [{"text": n} for n in notes]
    return out
