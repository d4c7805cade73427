"""Constants for the Stigfinnare GPS-alarm adapter (contracts/vendors/stigfinnare.md)."""

from typing import Final

ADAPTER: Final = "stigfinnare"
PROTOCOL: Final = "stigfinnare-webhook-v1"
VENDOR: Final = "Stigfinnare"

DEFAULT_PATH: Final = "v1/messages"
"""Where the vendor cloud posts: ``/ingress/<instance id>/v1/messages``."""

HEADER_ORGANISATION: Final = "X-Stigfinnare-Organisation"
HEADER_TIMESTAMP: Final = "X-Stigfinnare-Timestamp"
HEADER_SIGNATURE: Final = "X-Stigfinnare-Signature"
SIGNATURE_SCHEME: Final = "v1"
"""``v1=<hex HMAC-SHA256 of "<timestamp>." + body>``."""

DEFAULT_TOLERANCE_S: Final = 300
"""A request whose timestamp is further than this from Navet's clock is refused."""

LOW_BATTERY_PCT: Final = 20
"""Battery level at or below which a report without an explicit ``low`` counts as low."""
