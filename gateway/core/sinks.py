"""Northbound sinks: where the outbox delivers events.

A sink class has a ``kind`` and ``async deliver(event) -> None``; raising
:class:`gateway.errors.TransportError` means "try again later" and the
outbox backs off. Sinks are created per subscription from configuration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Protocol, runtime_checkable

from gateway.errors import DuplicateAdapterError, UnknownAdapterError

from .model import EventBase


@runtime_checkable
class Sink(Protocol):
    kind: ClassVar[str]

    async def deliver(self, event: EventBase) -> None:
        """Deliver one event; raise ``TransportError`` to have it retried."""
        ...


class SinkFactory(Protocol):
    kind: ClassVar[str]

    def __call__(self, settings: Mapping[str, Any], services: Any) -> Sink: ...


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
