"""Which device belongs to which tenant and resident, held in memory.

Loaded from the store at start and updated whenever configuration changes;
the pipeline asks it for every event, so it never touches the database on
the hot path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.sdk.devices import device_id

__all__ = ["DeviceDirectory", "DeviceEntry", "device_id"]


@dataclass
class DeviceEntry:
    id: str
    tenant: str
    adapter: str
    address: str
    kind: str
    resident: str | None = None
    heartbeat_s: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> DeviceEntry:
        return cls(
            id=row["id"], tenant=row["tenant"], adapter=row["adapter"], address=row["address"],
            kind=row["kind"], resident=row["resident"], heartbeat_s=row["heartbeat_s"],
            extra=json.loads(row["body"] or "{}"),
        )


class DeviceDirectory:
    def __init__(self) -> None:
        self._by_id: dict[str, DeviceEntry] = {}
        self.listeners: list[Callable[[DeviceEntry], None]] = []
        """Told of every entry put (added or changed) after the load: supervision
        watches a newly configured device without scanning the directory."""

    def load(self, rows: list[dict[str, Any]]) -> None:
        self._by_id = {r["id"]: DeviceEntry.from_row(r) for r in rows}

    def put(self, entry: DeviceEntry) -> None:
        self._by_id[entry.id] = entry
        for listener in self.listeners:
            listener(entry)

    def remove(self, device: str) -> None:
        """Forget a device (its configuration was removed); if it reports again, the
        pipeline registers it as unassigned."""
        self._by_id.pop(device, None)

    def get(self, device: str) -> DeviceEntry | None:
        return self._by_id.get(device)

    def for_tenant(self, tenant: str) -> list[DeviceEntry]:
        # a copy first (one step under the GIL): the rules read this on the store's writer
        # thread while the event loop may add a device
        return [d for d in list(self._by_id.values()) if d.tenant == tenant]

    def ids(self) -> list[str]:
        """Every device id (a snapshot: safe to walk in slices while entries change)."""
        return list(self._by_id)

    def __iter__(self) -> Iterator[DeviceEntry]:
        return iter(list(self._by_id.values()))

    def __len__(self) -> int:
        return len(self._by_id)
