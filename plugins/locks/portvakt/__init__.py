"""Portvakt: a lock vendor cloud with a REST command API and signed webhooks."""

from .adapter import PortvaktAdapter

__all__ = ["PortvaktAdapter"]
