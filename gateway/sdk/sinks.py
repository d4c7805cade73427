"""Northbound sinks: where the outbox delivers events.

A sink class has a ``kind`` and ``async deliver(event) -> None``; raising
:class:`gateway.errors.TransportError` means "try again later" and the
outbox backs off. Sinks are created per subscription from configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from .errors import DuplicateAdapterError, UnknownAdapterError
from .model import EventBase

if TYPE_CHECKING:
    from .alarms import AlarmDesk
    from .clock import Clock
    from .mqtt import MqttClient
    from .outbound import OutboundPolicy


@runtime_checkable
class Sink(Protocol):
    kind: ClassVar[str]

    async def deliver(self, event: EventBase) -> None:
        """Deliver one event; raise ``TransportError`` to have it retried."""
        ...


class SinkSubscription(Protocol):
    """The outbox subscription a sink delivers for (read-only)."""

    @property
    def id(self) -> str: ...

    @property
    def tenant(self) -> str: ...

    @property
    def sink(self) -> str:
        """The sink kind."""
        ...

    @property
    def types(self) -> tuple[str, ...]:
        """Event type prefixes it receives (``alarm.`` matches every alarm type, ``*`` all)."""
        ...


@dataclass(frozen=True, slots=True)
class Subscription:
    """An outbox subscription: events of ``types`` for ``tenant``, delivered to a ``sink``
    of that kind made from ``settings``. Satisfies :class:`SinkSubscription`."""

    id: str
    tenant: str
    sink: str
    types: tuple[str, ...]  # prefixes: "alarm." matches every alarm type; "*" matches all
    settings: dict[str, Any]
    enabled: bool = True

    def matches(self, event_type: str) -> bool:
        return any(t == "*" or event_type == t or (t.endswith(".") and event_type.startswith(t))
                   for t in self.types)


class SinkServices(Protocol):
    """What the gateway lends a sink: ``SinkClass(settings, services)``."""

    @property
    def mqtt(self) -> MqttClient:
        """The northbound MQTT client."""
        ...

    @property
    def clock(self) -> Clock: ...

    @property
    def subscription(self) -> SinkSubscription: ...

    @property
    def prefix(self) -> str:
        """The northbound MQTT topic prefix (``settings.mqtt.northbound_prefix``)."""
        ...

    @property
    def alarms(self) -> AlarmDesk | None:
        """Alarms, for forwarders that acknowledge one when the upstream centre took it;
        None where the host has no alarm service (a bare test double)."""
        ...

    @property
    def outbound(self) -> OutboundPolicy:
        """Where the sink may connect to; every connection goes through it."""
        ...


class SinkRegistry:
    """Collects sink classes during ``navet_register_sinks``."""

    def __init__(self) -> None:
        self._sinks: dict[str, type[Any]] = {}

    def add(self, sink: type[Any]) -> None:
        kind: str = sink.kind
        if kind in self._sinks and self._sinks[kind] is not sink:
            raise DuplicateAdapterError(f"sink kind {kind!r} is already registered")
        self._sinks[kind] = sink

    def get(self, kind: str) -> type[Any]:
        try:
            return self._sinks[kind]
        except KeyError:
            known = ", ".join(sorted(self._sinks)) or "none"
            raise UnknownAdapterError(f"no sink of kind {kind!r} (known: {known})") from None

    def __iter__(self) -> Iterator[tuple[str, type[Any]]]:
        return iter(sorted(self._sinks.items()))
