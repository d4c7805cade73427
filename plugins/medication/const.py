"""Constants for the medication plugin."""

from typing import Final

DOMAIN: Final = "medication"

DOSVAKT: Final = "dosvakt"
"""Adapter name of the Dosvakt cloud (REST push, per-organisation API key)."""
DOSVAKT_PROTOCOL: Final = "dosvakt-push-v1"
DOSVAKT_VENDOR: Final = "Dosvakt"
WATCHDOG: Final = "navet-watchdog"
"""Transport name of the frames Navet's own link watchdog writes (never from the vendor)."""

MEDIKUB: Final = "medikub"
"""Adapter name of the Medikub dispenser (JSON over MQTT, its own heartbeat)."""
MEDIKUB_PROTOCOL: Final = "medikub-mqtt-v1"
MEDIKUB_VENDOR: Final = "Medikub"
