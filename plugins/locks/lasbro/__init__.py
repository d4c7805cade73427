"""Låsbro: locks that report through an on-site MQTT bridge."""

from .adapter import LasbroAdapter

__all__ = ["LasbroAdapter"]
