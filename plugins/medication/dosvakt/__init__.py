"""Dosvakt: a dispenser vendor cloud that pushes dose events to Navet over HTTPS."""

from .adapter import DosvaktAdapter

__all__ = ["DosvaktAdapter"]
