"""Sängvakt bed-exit sensors for Navet: registers the adapter, nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .adapter import SangvaktAdapter

if TYPE_CHECKING:
    from gateway import AdapterRegistry


@hookimpl
def navet_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(SangvaktAdapter)
