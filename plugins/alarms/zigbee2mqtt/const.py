"""Constants for the Zigbee2MQTT adapter."""

from typing import Final

ADAPTER: Final = "zigbee2mqtt"
PROTOCOL: Final = "zigbee2mqtt"
DEFAULT_BASE_TOPIC: Final = "zigbee2mqtt"
LOW_BATTERY_PCT: Final = 20

BOOL_READINGS: Final = ("contact", "occupancy", "water_leak", "vibration", "smoke", "fall")
"""Zigbee2MQTT exposes that map one to one onto ``SensorReadings``."""

NUMBER_READINGS: Final = {
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "illuminance_lux": "illuminance_lux",
}
