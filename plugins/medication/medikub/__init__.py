"""Medikub: a dispenser that publishes JSON over MQTT, with its own heartbeat."""

from .adapter import MedikubAdapter

__all__ = ["MedikubAdapter"]
