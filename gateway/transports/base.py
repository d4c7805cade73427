"""Moved to :mod:`gateway.sdk.mqtt` (the SDK); kept for the old import path."""

from gateway.sdk.mqtt import (
    Handler,
    MqttClient,
    MqttMessage,
    plain_filter,
    shared_filter,
    topic_matches,
)

__all__ = [
    "Handler",
    "MqttClient",
    "MqttMessage",
    "plain_filter",
    "shared_filter",
    "topic_matches",
]
