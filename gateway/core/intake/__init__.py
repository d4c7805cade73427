"""Moved to :mod:`gateway.sdk.intake` (the SDK); kept for the old import path."""

from gateway.sdk.intake import (
    Admission,
    Connection,
    DatagramEndpoint,
    FairQueue,
    ListenerIntake,
    ListenerSettings,
    ProxiedTlsServer,
    ProxyError,
    ProxyHeader,
    ProxyProtocolSettings,
    RefusalLog,
    RefusalSink,
)

__all__ = [
    "Admission",
    "Connection",
    "DatagramEndpoint",
    "FairQueue",
    "ListenerIntake",
    "ListenerSettings",
    "ProxiedTlsServer",
    "ProxyError",
    "ProxyHeader",
    "ProxyProtocolSettings",
    "RefusalLog",
    "RefusalSink",
]
