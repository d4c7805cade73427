"""The running adapter instances, keyed one way: by instance id.

A municipality may run the same adapter twice (two SCAIP receivers, one per
alarm centre), so an adapter's name does not name an instance. Code that has
only the name (a frame that names no instance, a test) asks
:meth:`AdapterInstances.by_adapter` for the first instance started; code that
acts for a tenant asks :meth:`AdapterInstances.find`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .settings import AdapterInstance


class AdapterInstances(Mapping[str, Any]):
    """Instance id -> the running adapter object, with its instance settings."""

    def __init__(self) -> None:
        self._adapters: dict[str, Any] = {}
        self._settings: dict[str, AdapterInstance] = {}

    def add(self, instance: AdapterInstance, adapter: Any) -> None:
        self._adapters[instance.instance_id] = adapter
        self._settings[instance.instance_id] = instance

    def __getitem__(self, instance_id: str) -> Any:
        return self._adapters[instance_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._adapters)

    def __len__(self) -> int:
        return len(self._adapters)

    def settings(self, instance_id: str) -> AdapterInstance:
        return self._settings[instance_id]

    def by_adapter(self, adapter: str) -> Any | None:
        """The first started instance of ``adapter`` (None: none runs)."""
        for instance_id, inst in self._settings.items():
            if inst.adapter == adapter:
                return self._adapters[instance_id]
        return None

    def find(self, tenant: str, adapter: str) -> tuple[str, Any] | None:
        """The running instance (id, adapter object) of ``adapter`` for ``tenant``."""
        for instance_id, inst in self._settings.items():
            if inst.adapter == adapter and inst.tenant == tenant:
                return instance_id, self._adapters[instance_id]
        return None
