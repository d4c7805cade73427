"""Medication dispensers: a vendor cloud pushing over REST and a dispenser speaking MQTT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .dosvakt import DosvaktAdapter
from .medikub import MedikubAdapter

if TYPE_CHECKING:
    from gateway import AdapterRegistry


@hookimpl
def navet_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(DosvaktAdapter)
    registry.add(MedikubAdapter)
