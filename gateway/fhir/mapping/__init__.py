"""Navet events and care data -> FHIR R5 resources (plain JSON dicts).

Each function is pure: it takes Navet's contract objects and returns the
resource as JSON. :mod:`gateway.fhir.repository` feeds them from the store and
validates what comes out (:func:`gateway.fhir.checks.validate`).

=============================  ============================================
Navet                          R5
=============================  ============================================
resident                       Patient (pseudonym only) + home Location
alarm with a position (GPS)    Location (alarm-<id>), Task.location points to it
device / its resident          Device / DeviceAssociation
alarm.*                        Task (the alarm) + Provenance (each transition)
sensor, position, device.*     Observation
lock.*                         AuditEvent (physical access)
supervision.started/ended      Encounter (class VR) + AuditEvent (the viewing)
supervision.refused            AuditEvent (outcome error)
supervision.observation        Observation (finding, encounter -> the check)
medication.dose_dispensed      MedicationDispense
medication.dose_taken/missed   MedicationAdministration (completed / not-done)
medication.refill_needed       Observation (remaining doses, on the Device)
consent                        Consent
=============================  ============================================
"""

from .alarms import alarm_id, alarm_location, provenance, task
from .audit import AUDIT_TYPES, audit_event, encounter
from .care import association, consent_resource, device_resource, home_location, patient_resource
from .medication import MEDICATION_TYPES, administration, dispense, dose_key
from .observations import DEVICE_STATUS_TYPES, OBSERVATION_TYPES, observation

__all__ = [
    "AUDIT_TYPES",
    "DEVICE_STATUS_TYPES",
    "MEDICATION_TYPES",
    "OBSERVATION_TYPES",
    "administration",
    "alarm_id",
    "alarm_location",
    "association",
    "audit_event",
    "consent_resource",
    "device_resource",
    "dispense",
    "dose_key",
    "encounter",
    "home_location",
    "observation",
    "patient_resource",
    "provenance",
    "task",
]
