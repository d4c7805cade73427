"""Moved to :mod:`gateway.sdk.clock` (the SDK); kept for the old import path."""

from gateway.sdk.clock import (
    Clock,
    FakeClock,
    SystemClock,
)

__all__ = [
    "Clock",
    "FakeClock",
    "SystemClock",
]
