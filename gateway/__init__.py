"""Navet: the public API for plugin authors.

Plugins, ours included, import only from here. The set of names is pinned by
``tests/test_public_api.py``; adding one is a deliberate contract change.
"""

from __future__ import annotations

import pluggy

from gateway.core.adapters import (
    AdapterBase,
    AdapterHost,
    AdapterRegistry,
    AlarmStatus,
    IngestResult,
    Manifest,
    RawFrame,
)
from gateway.core.clock import Clock, FakeClock, SystemClock
from gateway.core.commands import Command, CommandResult
from gateway.core.directory import device_id
from gateway.core.intake import Connection as ListenerConnection
from gateway.core.intake import ListenerIntake, ListenerSettings
from gateway.core.model import (
    CONTRACT_VERSION,
    Actor,
    ActorKind,
    AlarmKind,
    DeviceKind,
    DeviceRef,
    EventBase,
    GeoPoint,
    Location,
    Priority,
    SourceRef,
    event_id,
    from_cloudevent,
    make_event,
    to_cloudevent,
)
from gateway.core.model.sia import SIA_CODE_FOR_KIND, SIA_RESTORE
from gateway.core.security.outbound import OutboundPolicy
from gateway.core.sinks import SinkRegistry
from gateway.errors import (
    ConfigError,
    ContractError,
    NavetError,
    OutboundRefused,
    PayloadError,
    TransportError,
)
from gateway.transports.base import MqttClient, MqttMessage

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("navet")
"""Marker for hook implementations: ``@hookimpl def navet_register_adapters(registry): ...``"""

Event = EventBase

__all__ = [
    "CONTRACT_VERSION",
    "SIA_CODE_FOR_KIND",
    "SIA_RESTORE",
    "Actor",
    "ActorKind",
    "AdapterBase",
    "AdapterHost",
    "AdapterRegistry",
    "AlarmKind",
    "AlarmStatus",
    "Clock",
    "Command",
    "CommandResult",
    "ConfigError",
    "ContractError",
    "DeviceKind",
    "DeviceRef",
    "Event",
    "EventBase",
    "FakeClock",
    "GeoPoint",
    "IngestResult",
    "ListenerConnection",
    "ListenerIntake",
    "ListenerSettings",
    "Location",
    "Manifest",
    "MqttClient",
    "MqttMessage",
    "NavetError",
    "OutboundPolicy",
    "OutboundRefused",
    "PayloadError",
    "Priority",
    "RawFrame",
    "SinkRegistry",
    "SourceRef",
    "SystemClock",
    "TransportError",
    "__version__",
    "device_id",
    "event_id",
    "from_cloudevent",
    "hookimpl",
    "make_event",
    "to_cloudevent",
]
