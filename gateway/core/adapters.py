"""Moved to :mod:`gateway.sdk.adapters` (the SDK); kept for the old import path."""

from gateway.sdk.adapters import (
    Adapter,
    AdapterBase,
    AdapterHost,
    AdapterRegistry,
    AlarmStatus,
    IngestResult,
    Manifest,
    RawFrame,
)

__all__ = [
    "Adapter",
    "AdapterBase",
    "AdapterHost",
    "AdapterRegistry",
    "AlarmStatus",
    "IngestResult",
    "Manifest",
    "RawFrame",
]
