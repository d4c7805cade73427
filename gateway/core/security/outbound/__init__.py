"""Moved to :mod:`gateway.sdk.outbound` (the SDK); kept for the old import path."""

from gateway.sdk.outbound import (
    DestinationUnreachable,
    Kind,
    Listener,
    OutboundPolicy,
    OutboundRefused,
    OutboundSettings,
    classify,
    unreachable_message,
)

__all__ = [
    "DestinationUnreachable",
    "Kind",
    "Listener",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundSettings",
    "classify",
    "unreachable_message",
]
