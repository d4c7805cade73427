"""Moved to :mod:`gateway.sdk.testing` (the SDK); kept for the old import path."""

from gateway.sdk.testing import (
    WAIT_S,
    navet_clock,
    navet_decode,
    registered_adapters,
    wait_until,
    wait_until_sync,
)

__all__ = [
    "WAIT_S",
    "navet_clock",
    "navet_decode",
    "registered_adapters",
    "wait_until",
    "wait_until_sync",
]
