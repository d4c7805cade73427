"""Moved to :mod:`gateway.sdk.mqtt` (the SDK); kept for the old import path."""

from gateway.sdk.mqtt import (
    Handler,
    MqttClient,
    MqttMessage,
    topic_matches,
)

__all__ = [
    "Handler",
    "MqttClient",
    "MqttMessage",
    "topic_matches",
]
