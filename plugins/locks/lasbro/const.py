"""Låsbro wire constants (contracts/vendors/lasbro.md)."""

from typing import Final

ADAPTER: Final = "lasbro"
PROTOCOL: Final = "lasbro-mqtt"
VENDOR: Final = "Låsbro"

EVENTS: Final = {
    "unlock": "unlocked",
    "lock": "locked",
    "deny": "denied",
    "jam": "jammed",
    "batt": "battery",
    "tamper": "tamper",
}
SOURCES: Final = {
    "remote": "remote",
    "app": "app",
    "pin": "code",
    "key": "key",
    "knob": "manual",
    "auto": "auto",
}
DENY_CODES: Final = {
    "bad_pin": "wrong_code",
    "not_valid_now": "key_not_valid",
    "revoked": "key_revoked",
    "no_contact": "lock_offline",
    "jammed": "lock_jammed",
    "privacy": "privacy_mode",
}
OPS: Final = {"lock.unlock": "unlock", "lock.lock": "lock"}
