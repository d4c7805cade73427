"""The rules every gateway runs, whatever the vendor."""

from __future__ import annotations

from typing import Any


def builtin_rules() -> list[Any]:
    """Rules in the order they see each event."""
    return []
