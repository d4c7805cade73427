"""SIA DC-09 receiver: IP alarm transmission from alarm panels and social alarm units."""

from .adapter import Dc09Adapter

__all__ = ["Dc09Adapter"]
