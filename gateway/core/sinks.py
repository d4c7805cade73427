"""Moved to :mod:`gateway.sdk.sinks` (the SDK); kept for the old import path."""

from gateway.sdk.sinks import (
    Sink,
    SinkRegistry,
    SinkServices,
    SinkSubscription,
)

__all__ = [
    "Sink",
    "SinkRegistry",
    "SinkServices",
    "SinkSubscription",
]
