"""Constants of the webhook delivery contract (contracts/webhooks.md)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "webhooks"
SINK_KIND: Final = "webhook"

CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
SIGNATURE_HEADER: Final = "Navet-Signature"
SUBSCRIPTION_HEADER: Final = "Navet-Subscription"
DELIVERY_HEADER: Final = "Navet-Delivery"
SIGNATURE_SCHEME: Final = "v1"  # HMAC-SHA256 over "<t>.<body>", lower-case hex

# Statuses after which a later attempt may succeed; any other non-2xx is a refusal.
RETRY_STATUSES: Final = frozenset({408, 425, 429})

# Headers Navet sets itself; configured extra headers may not replace them.
RESERVED_HEADERS: Final = frozenset(
    h.lower() for h in ("Content-Type", "Content-Length", "Host", "User-Agent",
                        SIGNATURE_HEADER, SUBSCRIPTION_HEADER, DELIVERY_HEADER)
)
MIN_SECRET_LENGTH: Final = 24
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
