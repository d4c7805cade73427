"""Constants shared by the lock adapters."""

from typing import Final

DOMAIN: Final = "locks"
COMMANDS: Final = ("lock.unlock", "lock.lock")
LOW_BATTERY_PCT: Final = 20
"""At or below this level a lock's battery counts as low when the vendor does not say."""

LINK_TRANSPORT: Final = "link"
"""Transport name of the frames an adapter writes about its own link to the vendor."""
