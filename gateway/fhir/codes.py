"""Every code Navet puts into a FHIR resource, and every reference it makes.

Navet's own CodeSystems (``urn:navet:fhir:CodeSystem:<name>``) list their codes
here; the HL7 code systems Navet uses list the subset it emits. :data:`BINDINGS`
holds the R5 *required* bindings of the ``code`` elements Navet fills, and
:data:`REFERENCE_TARGETS` the resource types each reference element may point
to, narrowed to what Navet means. :mod:`gateway.fhir.checks` enforces both,
because fhir.resources 8.x enforces neither. ``tests/fhir`` compares these
tables with the official R5 definitions (hl7.fhir.r5.core).
"""

from __future__ import annotations

from typing import Final

from gateway.sdk.model import CATALOGUE, AlarmKind, AlarmOutcome, DeviceKind, Finding
from gateway.sdk.model.bodies import FaultKind, LockMethod

NAVET_CS = "urn:navet:fhir:CodeSystem:"
NAVET_TOPIC = "urn:navet:fhir:SubscriptionTopic:"


def cs(name: str) -> str:
    """URI of one of Navet's CodeSystems."""
    return NAVET_CS + name


# --------------------------------------------------------------------------- HL7 systems

V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
CHANNEL_TYPE = "http://terminology.hl7.org/CodeSystem/subscription-channel-type"
ISSUE_SEVERITY = "http://hl7.org/fhir/issue-severity"
DEVICEASSOCIATION_STATUS = "http://hl7.org/fhir/deviceassociation-status"
UCUM = "http://unitsofmeasure.org"

# --------------------------------------------------------------------------- Navet systems

ALARM_STATES: Final = ("raised", "acknowledged", "dispatched", "attended", "closed", "cancelled")
ALARM_TRANSITIONS: Final = {
    "alarm.raised": "raised", "alarm.updated": "updated", "alarm.cancelled": "cancelled",
    "alarm.acknowledged": "acknowledged", "alarm.escalated": "escalated",
    "alarm.dispatched": "dispatched", "alarm.attended": "attended", "alarm.closed": "closed",
}
OBSERVATION_CODES: Final = (
    "sensor-readings", "contact-closed", "occupancy", "water-leak", "vibration", "smoke", "fall",
    "temperature", "humidity", "illuminance", "link-quality",
    "battery", "battery-level", "battery-low", "battery-voltage",
    "connectivity", "silent-seconds", "fault", "fault-kind", "tamper",
    "position", "latitude", "longitude", "accuracy", "speed",
    "remaining-doses", "supervision-finding",
)

CODE_SYSTEMS: Final[dict[str, frozenset[str]]] = {
    cs("alarm-kind"): frozenset(str(k) for k in AlarmKind),
    cs("alarm-state"): frozenset(ALARM_STATES),
    cs("alarm-transition"): frozenset(ALARM_TRANSITIONS.values()),
    cs("alarm-outcome"): frozenset(str(o) for o in AlarmOutcome),
    cs("device-kind"): frozenset(str(k) for k in DeviceKind),
    cs("device-property"): frozenset({"placement"}),
    cs("device-relationship"): frozenset({"issued-to-resident"}),
    cs("observation"): frozenset(OBSERVATION_CODES),
    cs("observation-category"): frozenset({"sensor", "technical", "position", "supervision",
                                           "medication"}),
    cs("fault-kind"): frozenset(str(k) for k in FaultKind),
    cs("supervision-finding"): frozenset(str(f) for f in Finding),
    cs("supervision-mode"): frozenset({"camera-check"}),
    cs("audit-category"): frozenset({"physical-access", "camera-supervision"}),
    cs("audit-event"): frozenset({"unlock", "lock", "access-denied", "jammed", "camera-view",
                                  "camera-view-refused"}),
    cs("lock-method"): frozenset(str(m) for m in LockMethod),
    cs("dose-not-taken-reason"): frozenset({"not-taken-in-window"}),
    cs("medication-event"): frozenset({"dispensed"}),
    cs("consent-purpose"): frozenset({"camera-supervision", "notify-relatives"}),
    cs("consent-action"): frozenset({"live-view", "notify"}),
    cs("event-type"): frozenset(CATALOGUE),
    # HL7 systems: only the codes Navet emits
    V3_ACT_CODE: frozenset({"VR"}),
    V3_ROLE_CODE: frozenset({"PTRES"}),
    V3_OBSERVATION_VALUE: frozenset({"PSEUDED"}),
    PROVENANCE_PARTICIPANT: frozenset({"author", "performer"}),
    CHANNEL_TYPE: frozenset({"rest-hook", "websocket"}),
    ISSUE_SEVERITY: frozenset({"success", "error"}),
    DEVICEASSOCIATION_STATUS: frozenset({"attached"}),
    UCUM: frozenset({"%", "Cel", "lx", "mV", "deg", "m", "m/s", "s", "{doses}"}),
}
"""Code system URI -> the codes Navet may emit in it. A Coding with any other
system, or another code, is a bug in Navet."""

# --------------------------------------------------------------------------- bindings

_TASK_STATUS = ("draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
                "in-progress", "on-hold", "failed", "completed", "entered-in-error")
_PUBLICATION = ("draft", "active", "retired", "unknown")
_SUB_STATUS = ("requested", "active", "error", "off", "entered-in-error")

BINDINGS: Final[dict[str, frozenset[str]]] = {
    path: frozenset(codes) for path, codes in {
        "Task.status": _TASK_STATUS,
        "Task.intent": ("unknown", "proposal", "plan", "order", "original-order", "reflex-order",
                        "filler-order", "instance-order", "option"),
        "Task.priority": ("routine", "urgent", "asap", "stat"),
        "Observation.status": ("registered", "preliminary", "final", "amended", "corrected",
                               "cancelled", "entered-in-error", "unknown"),
        "AuditEvent.action": ("C", "R", "U", "D", "E"),
        "Encounter.status": ("planned", "in-progress", "on-hold", "discharged", "completed",
                             "cancelled", "discontinued", "entered-in-error", "unknown"),
        "Consent.status": ("draft", "active", "inactive", "not-done", "entered-in-error",
                           "unknown"),
        "Consent.decision": ("deny", "permit"),
        "MedicationDispense.status": ("preparation", "in-progress", "cancelled", "on-hold",
                                      "completed", "entered-in-error", "stopped", "declined",
                                      "unknown"),
        "MedicationAdministration.status": ("in-progress", "not-done", "on-hold", "completed",
                                            "entered-in-error", "stopped", "unknown"),
        "Device.status": ("active", "inactive", "entered-in-error"),
        "Location.status": ("active", "suspended", "inactive"),
        "Location.mode": ("instance", "kind"),
        "Subscription.status": _SUB_STATUS,
        "Subscription.content": ("empty", "id-only", "full-resource"),
        "SubscriptionStatus.status": _SUB_STATUS,
        "SubscriptionStatus.type": ("handshake", "heartbeat", "event-notification",
                                    "query-status", "query-event"),
        "SubscriptionTopic.status": _PUBLICATION,
        "SubscriptionTopic.resourceTrigger.supportedInteraction": ("create", "update", "delete"),
        "Bundle.type": ("document", "message", "transaction", "transaction-response", "batch",
                        "batch-response", "history", "searchset", "collection",
                        "subscription-notification"),
        "Bundle.entry.search.mode": ("match", "include", "outcome"),
        "Bundle.link.relation": ("self", "first", "previous", "next", "last"),
        "OperationOutcome.issue.severity": ("fatal", "error", "warning", "information",
                                            "success"),
        "OperationOutcome.issue.code": ("invalid", "structure", "required", "value", "processing",
                                        "not-found", "not-supported", "security", "forbidden",
                                        "exception", "timeout", "conflict", "too-costly",
                                        "transient", "login"),
        "CapabilityStatement.status": _PUBLICATION,
        "CapabilityStatement.kind": ("instance", "capability", "requirements"),
        "CapabilityStatement.rest.mode": ("client", "server"),
        "CapabilityStatement.rest.resource.interaction.code": (
            "read", "vread", "update", "patch", "delete", "history-instance", "history-type",
            "create", "search-type"),
        "CapabilityStatement.rest.resource.searchParam.type": (
            "number", "date", "string", "token", "reference", "composite", "quantity", "uri",
            "special"),
    }.items()
}
"""Element path -> the codes its required R5 binding allows (for ``code`` elements)."""

# --------------------------------------------------------------------------- references

_PEOPLE = ("Practitioner", "PractitionerRole", "Organization", "CareTeam", "Patient",
           "RelatedPerson")
_AGENTS = (*_PEOPLE, "Device")

REFERENCE_TARGETS: Final[dict[str, frozenset[str]]] = {
    path: frozenset(types) for path, types in {
        "Task.for": ("Patient",),
        "Task.focus": ("Device",),
        "Task.owner": _PEOPLE,
        "Task.performer.actor": _PEOPLE,
        "Task.location": ("Location",),
        "Task.relevantHistory": ("Provenance",),
        "Provenance.target": ("Task",),
        "Provenance.patient": ("Patient",),
        "Provenance.agent.who": _AGENTS,
        "Observation.subject": ("Patient", "Device"),
        "Observation.device": ("Device",),
        "Observation.encounter": ("Encounter",),
        "Observation.performer": ("Practitioner",),
        "AuditEvent.patient": ("Patient",),
        "AuditEvent.encounter": ("Encounter",),
        "AuditEvent.agent.who": _AGENTS,
        "AuditEvent.agent.location": ("Location",),
        "AuditEvent.source.observer": ("Device",),
        "AuditEvent.entity.what": ("Location", "Device"),
        "Encounter.subject": ("Patient",),
        "Encounter.participant.actor": ("Practitioner", "Device"),
        "MedicationDispense.subject": ("Patient",),
        "MedicationDispense.performer.actor": ("Device",),
        "MedicationAdministration.subject": ("Patient",),
        "MedicationAdministration.device.reference": ("Device",),
        "MedicationAdministration.partOf": ("MedicationDispense",),
        "MedicationAdministration.performer.actor.reference": ("Patient",),
        "Device.location": ("Location",),
        "Device.owner": ("Organization",),
        "DeviceAssociation.device": ("Device",),
        "DeviceAssociation.subject": ("Patient",),
        "Patient.managingOrganization": ("Organization",),
        "Location.managingOrganization": ("Organization",),
        "Consent.subject": ("Patient",),
        "Consent.grantor": ("Patient", "RelatedPerson"),
        "Consent.grantee": ("Organization",),
        "Consent.controller": ("Organization",),
        "MessageHeader.focus": ("Task", "Provenance", "Observation", "AuditEvent", "Encounter",
                                "MedicationDispense", "MedicationAdministration"),
        "MessageHeader.sender": ("Organization",),
        "SubscriptionStatus.subscription": ("Subscription",),
        "SubscriptionStatus.notificationEvent.focus": ("Task", "Observation"),
        "SubscriptionStatus.notificationEvent.additionalContext": ("Provenance",),
    }.items()
}
"""Element path -> resource types a Navet reference there may point to (a subset of R5's)."""

RESOURCE_TYPES: Final = (
    "Patient", "Device", "DeviceAssociation", "Location", "Task", "Provenance", "Observation",
    "AuditEvent", "Encounter", "MedicationDispense", "MedicationAdministration", "Consent",
)
"""The resource types the facade serves from Navet's data (read and search)."""
