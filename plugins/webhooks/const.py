"""Constants of the webhook delivery contract (contracts/webhooks.md)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "webhooks"
SINK_KIND: Final = "webhook"

CONTENT_TYPE: Final = "application/cloudevents+json; charset=utf-8"
# Standard Webhooks (https://www.standardwebhooks.com/): what consumers verify with the
# maintained standardwebhooks libraries.
ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER: Final = "webhook-signature"
WHSEC_PREFIX: Final = "whsec_"
# The legacy header, sent beside the standard ones during the transition (legacy_signature).
SIGNATURE_HEADER: Final = "Navet-Signature"
SUBSCRIPTION_HEADER: Final = "Navet-Subscription"
DELIVERY_HEADER: Final = "Navet-Delivery"
SIGNATURE_SCHEME: Final = "v1"

# Statuses after which a later attempt may succeed; any other non-2xx is a refusal.
RETRY_STATUSES: Final = frozenset({408, 425, 429})

# Headers Navet sets itself; configured extra headers may not replace them.
RESERVED_HEADERS: Final = frozenset(
    h.lower() for h in ("Content-Type", "Content-Length", "Host", "User-Agent",
                        ID_HEADER, TIMESTAMP_HEADER, STANDARD_SIGNATURE_HEADER,
                        SIGNATURE_HEADER, SUBSCRIPTION_HEADER, DELIVERY_HEADER)
)
MIN_SECRET_LENGTH: Final = 24  # characters of a free-form secret
MIN_KEY_BYTES: Final = 24      # bytes of a whsec_ secret's key (Standard Webhooks: 24 to 64)
MAX_KEY_BYTES: Final = 64
LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
