"""Portvakt wire constants (contracts/vendors/portvakt.md)."""

from typing import Final

ADAPTER: Final = "portvakt"
PROTOCOL: Final = "portvakt-rest"
VENDOR: Final = "Portvakt"
LINK_ADDRESS: Final = "cloud"

SIGNATURE_HEADER: Final = "X-Portvakt-Signature"
TIMESTAMP_HEADER: Final = "X-Portvakt-Timestamp"
SIGNATURE_SCHEME: Final = "v1"
WEBHOOK_PATH: Final = "events"

EVENT_TYPES: Final = {
    "access.unlocked": "unlocked",
    "access.locked": "locked",
    "access.denied": "denied",
    "lock.jammed": "jammed",
    "lock.battery": "battery",
    "lock.tamper": "tamper",
}
ACTOR_METHODS: Final = {
    "integration": "remote",
    "app_user": "app",
    "keypad": "code",
    "key": "key",
    "thumb_turn": "manual",
    "auto_relock": "auto",
}
DENY_CODES: Final = {
    "invalid_code": "wrong_code",
    "outside_schedule": "key_not_valid",
    "revoked": "key_revoked",
    "offline": "lock_offline",
    "jammed": "lock_jammed",
    "privacy": "privacy_mode",
}
