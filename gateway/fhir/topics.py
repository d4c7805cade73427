"""The SubscriptionTopics Navet offers, and which Navet events each one fires on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.sdk.model import EventBase

from .codes import NAVET_TOPIC
from .ids import fhir_id
from .mapping import DEVICE_STATUS_TYPES, alarm_id


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    description: str
    resource: str  # the focus resource type of every notification
    event_types: tuple[str, ...]  # Navet event types (prefixes end with ".")
    filters: tuple[tuple[str, str], ...]  # (filterParameter, description)

    @property
    def url(self) -> str:
        return NAVET_TOPIC + self.id

    def fires_on(self, event: EventBase) -> bool:
        return any(event.type == t or (t.endswith(".") and event.type.startswith(t))
                   for t in self.event_types)

    def focus(self, event: EventBase) -> str:
        """``Type/id`` of the resource a notification about ``event`` is about."""
        if self.resource == "Task":
            return f"Task/{fhir_id(alarm_id(event))}"
        return f"{self.resource}/{fhir_id(event.id)}"

    def context(self, event: EventBase) -> list[str]:
        """Further resources a notification names (``additionalContext``)."""
        return [f"Provenance/{fhir_id(event.id)}"] if self.resource == "Task" else []

    def resource_json(self) -> dict[str, Any]:
        return {
            "resourceType": "SubscriptionTopic",
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "status": "active",
            "description": self.description,
            "resourceTrigger": [{
                "description": self.description,
                "resource": f"http://hl7.org/fhir/StructureDefinition/{self.resource}",
                "supportedInteraction": ["create", "update"] if self.resource == "Task"
                else ["create"],
            }],
            "canFilterBy": [{"resource": self.resource, "filterParameter": name,
                             "description": text} for name, text in self.filters],
            "notificationShape": [
                {"resource": self.resource, "revInclude": ["Provenance:target"]}
                if self.resource == "Task" else {"resource": self.resource}
            ],
        }


TOPICS: dict[str, Topic] = {t.id: t for t in (
    Topic(
        id="alarm-lifecycle",
        title="Alarm lifecycle",
        description="An alarm (Task) was raised, or moved on: acknowledged, escalated, "
                    "dispatched, attended, closed or cancelled. Every transition is one "
                    "notification; additionalContext names its Provenance (who and when).",
        resource="Task",
        event_types=("alarm.",),
        filters=(("patient", "Task.for: only alarms of this Patient (Patient/<id>)."),),
    ),
    Topic(
        id="device-status",
        title="Device status",
        description="A device went offline or came back, reported its battery, a fault "
                    "or tamper (an Observation whose subject is the Device).",
        resource="Observation",
        event_types=DEVICE_STATUS_TYPES,
        filters=(("subject", "Observation.subject: only this Device (Device/<id>)."),),
    ),
)}


def topic_by_url(url: str) -> Topic | None:
    return next((t for t in TOPICS.values() if t.url == url), None)
