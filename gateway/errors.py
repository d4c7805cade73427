"""Moved to :mod:`gateway.sdk.errors` (the SDK); kept for the old import path."""

from gateway.sdk.errors import (
    ConfigError,
    ContractError,
    DuplicateAdapterError,
    NavetError,
    OutboundRefused,
    PayloadError,
    PluginError,
    StoreError,
    StoreUnavailableError,
    SubscriptionLimitError,
    TransitionError,
    TransportError,
    UnknownAdapterError,
    UnknownAlarmError,
    describe_invalid,
)

__all__ = [
    "ConfigError",
    "ContractError",
    "DuplicateAdapterError",
    "NavetError",
    "OutboundRefused",
    "PayloadError",
    "PluginError",
    "StoreError",
    "StoreUnavailableError",
    "SubscriptionLimitError",
    "TransitionError",
    "TransportError",
    "UnknownAdapterError",
    "UnknownAlarmError",
    "describe_invalid",
]
