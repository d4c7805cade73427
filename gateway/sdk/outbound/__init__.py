"""Navet's outbound-destination policy (SSRF protection); see :mod:`.policy`."""

from __future__ import annotations

from ..errors import OutboundRefused
from .addresses import Kind, classify
from .connect import DestinationUnreachable, unreachable_message
from .policy import Listener, OutboundPolicy, OutboundSettings

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
