"""The common model, contract v1: envelope, event catalogue, CloudEvents form."""

from .bodies import AlarmKind, AlarmOutcome, Finding
from .cloudevents import from_cloudevent, to_cloudevent
from .common import (
    CONTRACT_VERSION,
    Actor,
    ActorKind,
    DeviceKind,
    DeviceRef,
    GeoPoint,
    Location,
    Priority,
    SourceRef,
)
from .events import (
    ALARM_TYPES,
    CATALOGUE,
    EVENT_MODELS,
    Event,
    EventAdapter,
    EventBase,
    event_id,
    make_event,
    validate_event,
)

__all__ = [
    "ALARM_TYPES",
    "CATALOGUE",
    "CONTRACT_VERSION",
    "EVENT_MODELS",
    "Actor",
    "ActorKind",
    "AlarmKind",
    "AlarmOutcome",
    "DeviceKind",
    "DeviceRef",
    "Event",
    "EventAdapter",
    "EventBase",
    "Finding",
    "GeoPoint",
    "Location",
    "Priority",
    "SourceRef",
    "event_id",
    "from_cloudevent",
    "make_event",
    "to_cloudevent",
    "validate_event",
]
