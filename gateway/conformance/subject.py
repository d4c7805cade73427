"""The adapter under test, with everything the checks read about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any

from gateway.core.adapters import AdapterRegistry, RawFrame
from gateway.core.model import EventBase

from .declaration import Declaration, FrameSpec


@dataclass
class Subject:
    name: str
    cls: type[Any]
    declaration: Declaration | None
    plugin: str = "?"
    module: ModuleType | None = None
    plugin_manifest: dict[str, Any] = field(default_factory=dict)
    registry: AdapterRegistry | None = None
    events: list[tuple[str, EventBase]] = field(default_factory=list)
    """Every event the checks saw the adapter emit, with what made it (for events-valid)."""

    @property
    def tenant(self) -> str:
        return self.declaration.spec.tenant if self.declaration else "conformance"

    @property
    def received(self) -> datetime:
        assert self.declaration is not None
        return self.declaration.spec.received

    def instance(self) -> Any:
        settings = self.declaration.spec.settings if self.declaration else {}
        return self.cls(dict(settings))

    def raw(self, frame: FrameSpec, payload: bytes | None = None) -> RawFrame:
        return RawFrame(
            adapter=self.name, tenant=self.tenant, transport=frame.transport,
            address=frame.address,
            payload=frame.payload_bytes() if payload is None else payload,
            received=self.received, meta=dict(frame.meta),
        )

    def decode(self, frame: FrameSpec, *, origin: str, instance: Any = None) -> list[EventBase]:
        """Decode a good frame, remembering the events; exceptions propagate."""
        events = list((instance or self.instance()).decode(self.raw(frame)))
        self.events.extend((origin, e) for e in events)
        return events

    def good_frames(self) -> list[tuple[str, FrameSpec]]:
        """Every frame declared as good: ``frames``, heartbeat, silence, zones."""
        if self.declaration is None:
            return []
        spec = self.declaration.spec
        found = [(f"frames[{i}]", f) for i, f in enumerate(spec.frames)]
        if spec.heartbeat is not None:
            found.append(("heartbeat", spec.heartbeat.frame))
        if spec.silence is not None:
            found.append(("silence", spec.silence))
        found += [(f"zones[{i}]", z.frame) for i, z in enumerate(spec.zones or ())]
        return found
