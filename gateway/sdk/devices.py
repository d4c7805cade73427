"""Device identity as adapters and the core both spell it."""

from __future__ import annotations


def device_id(adapter: str, address: str) -> str:
    """Navet's id for a device: the adapter name and the device's address at its vendor."""
    return f"{adapter}:{address}"
