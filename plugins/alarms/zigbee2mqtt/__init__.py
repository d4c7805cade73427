"""Passive sensors behind a Zigbee2MQTT bridge."""

from .adapter import Zigbee2MqttAdapter

__all__ = ["Zigbee2MqttAdapter"]
