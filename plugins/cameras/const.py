"""Constants for the cameras plugin."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "cameras"

UGGLAN: Final = "ugglan"
UGGLAN_PROTOCOL: Final = "ugglan-cloud-v1"
UGGLAN_VENDOR: Final = "Ugglan"
UGGLAN_WEBHOOK_PATH: Final = "events"
UGGLAN_SIGNATURE_HEADER: Final = "x-ugglan-signature"
UGGLAN_DELIVERY_HEADER: Final = "x-ugglan-delivery"

VAKTAREN: Final = "vaktaren"
VAKTAREN_PROTOCOL: Final = "vaktaren-mqtt-v2"
VAKTAREN_VENDOR: Final = "Vaktaren"

START: Final = "supervision.start"
STOP: Final = "supervision.stop"
COMMANDS: Final = (START, STOP)

END_REASONS: Final = frozenset({"stopped", "max_length", "camera_lost", "consent_withdrawn",
                                "outside_window", "policy", "shutdown"})
"""Normalised ``supervision.ended`` reasons. Navet passes its own reason with a stop
command and both vendors echo it; a vendor's own end is mapped onto these."""
