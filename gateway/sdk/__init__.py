"""Navet's SDK: the contract plugins are written against, and nothing of the runtime.

Everything here is re-exported by :mod:`gateway` (plugins import from there).
The SDK imports no part of the running gateway (``gateway.core``, the HTTP API,
transports): a vendor's adapter and its tests depend on it alone, and
``import gateway`` stays fast. ``lint-imports`` holds the line
(``[tool.importlinter]`` in ``pyproject.toml``).

Modules: :mod:`.model` (contract v1 events), :mod:`.adapters` (manifest, raw frame,
host services), :mod:`.sinks`, :mod:`.alarms` (reading and acknowledging alarms),
:mod:`.webhooks`, :mod:`.commands`, :mod:`.clock`, :mod:`.errors`,
:mod:`.hookspecs`, :mod:`.mqtt` (the MQTT client interface), :mod:`.outbound`
(the outbound policy), :mod:`.intake` (hardened socket listeners) and
:mod:`.testing` (pytest fixtures and ``wait_until``; imported on its own).
"""

from __future__ import annotations

import pluggy

from .adapters import (
    Adapter,
    AdapterBase,
    AdapterHost,
    AdapterRegistry,
    AlarmStatus,
    IngestResult,
    Manifest,
    RawFrame,
)
from .alarms import AlarmDesk, AlarmReader, AlarmView
from .clock import Clock, FakeClock, SystemClock
from .commands import Command, CommandResult
from .devices import device_id
from .errors import (
    ConfigError,
    ContractError,
    NavetError,
    OutboundRefused,
    PayloadError,
    TransportError,
)
from .hookspecs import FhirModel, FhirResource
from .intake import Connection as ListenerConnection
from .intake import ListenerIntake, ListenerSettings
from .model import (
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
from .model.sia import SIA_CODE_FOR_KIND, SIA_RESTORE
from .mqtt import MqttClient, MqttMessage
from .outbound import OutboundPolicy
from .sinks import Sink, SinkRegistry, SinkServices, SinkSubscription
from .webhooks import WebhookHandler, WebhookRequest, WebhookResponse

hookimpl = pluggy.HookimplMarker("navet")
"""Marker for hook implementations: ``@hookimpl def navet_register_adapters(registry): ...``"""

Event = EventBase

__all__ = [
    "CONTRACT_VERSION",
    "SIA_CODE_FOR_KIND",
    "SIA_RESTORE",
    "Actor",
    "ActorKind",
    "Adapter",
    "AdapterBase",
    "AdapterHost",
    "AdapterRegistry",
    "AlarmDesk",
    "AlarmKind",
    "AlarmReader",
    "AlarmStatus",
    "AlarmView",
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
    "FhirModel",
    "FhirResource",
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
    "Sink",
    "SinkRegistry",
    "SinkServices",
    "SinkSubscription",
    "SourceRef",
    "SystemClock",
    "TransportError",
    "WebhookHandler",
    "WebhookRequest",
    "WebhookResponse",
    "device_id",
    "event_id",
    "from_cloudevent",
    "hookimpl",
    "make_event",
    "to_cloudevent",
]
