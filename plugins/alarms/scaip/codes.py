"""SCAIP code tables (SS 91100 Annexes A-D) and how Navet reads them.

Codes are compared as integers: ``2``, ``02`` and ``0002`` are the same code
(the TR 91102 worked examples send them unpadded). The names are restated
from the annexes so texts in events say what a code means; the mapping to
contract v1 (which status is an alarm, which a fault) is Navet's decision and
is documented in docs/protocols/scaip.md.
"""

from __future__ import annotations

from typing import Final

from gateway import AlarmKind, Priority

DEVICE_TYPES: Final[dict[int, str]] = {
    0: "unknown", 1: "undefined", 2: "local unit & controller", 3: "personal trigger",
    4: "fixed trigger", 5: "fall detector", 6: "personal attack pendant", 7: "panic button",
    8: "duty switch, remote", 9: "duty switch, local", 10: "activity detector",
    11: "pill dispenser", 12: "bed monitor", 13: "mat sensor", 14: "door sensor",
    15: "wandering sensor", 16: "enuresis detector", 17: "epilepsy detector",
    18: "occupancy detector", 19: "heart-rate monitor", 20: "environmental monitor",
    21: "gas detector", 22: "lighting-circuit monitor", 23: "smoke detector",
    24: "heating-system monitor", 25: "heat detector", 26: "CO detector",
    27: "bogus-caller switch", 28: "intruder detector", 29: "boundary detector",
    30: "man-down detector", 31: "system monitor", 32: "communication-link monitor",
    33: "flood detector", 34: "bath sensor", 35: "latch key", 36: "perimeter",
    37: "sprinkler", 38: "tamper", 39: "printer", 40: "router", 41: "power supply, DC",
    42: "electric lock", 43: "access controller", 44: "chair monitor", 45: "controller",
    46: "elevator alarm unit", 47: "fire alarm system", 48: "local unit",
    49: "monitoring device", 50: "radio unit", 51: "tracking device",
}

STATUS_CODES: Final[dict[int, str]] = {
    0: "unknown", 1: "undefined", 2: "abort", 3: "absent", 4: "accepted", 5: "acknowledge",
    6: "activated", 7: "active", 8: "added", 9: "alarm (automatic)", 10: "alarm (manual)",
    11: "alert", 12: "armed", 13: "assigned", 14: "battery failure", 15: "battery recharged",
    16: "battery low", 17: "busy", 18: "bypass", 19: "cancel", 20: "changed", 21: "closed",
    22: "closed too long", 23: "comm link IP failure", 24: "comm link mobile failure",
    25: "comm link POTS failure", 26: "comm link primary failure",
    27: "comm link redundant failure", 28: "deleted", 29: "denied", 30: "disarmed",
    31: "disconnected", 41: "executed", 42: "failure", 43: "frequency drifted",
    46: "high level", 47: "in progress", 48: "in service (fault rectified)", 49: "inactive",
    50: "initiated", 51: "interrupted", 52: "jammed", 62: "log", 63: "loss", 64: "low level",
    65: "maintenance needed", 66: "maintenance urgently needed", 67: "malfunction",
    68: "memory full", 69: "non-active", 70: "normal state", 71: "occupied", 72: "off",
    73: "offline", 74: "on", 75: "online", 76: "open", 77: "open too long",
    78: "out of service", 79: "overflow", 80: "pending", 81: "pill not taken",
    82: "pill reminder", 83: "pill taken", 84: "planned", 85: "power failure (mains)",
    86: "power restored (mains)", 87: "presence, planned", 88: "presence, upon alarm",
    89: "privacy switch operated", 90: "pulse", 91: "re-established",
    92: "reset (automatic)", 93: "reset (manual)", 94: "restoral", 95: "RF interference",
    96: "started", 97: "stopped", 98: "substituted", 99: "succeeded",
    100: "temperature high", 101: "temperature low", 102: "test transmission, primary",
    103: "test transmission, redundant", 104: "time out", 105: "trouble", 106: "trespass",
    107: "unauthorized access", 108: "unbypass", 109: "verified", 110: "assistance",
    111: "check-out", 112: "comm link IP re-established",
    113: "comm link mobile re-established", 114: "comm link POTS re-established",
    115: "comm link primary re-established", 116: "comm link redundant re-established",
    117: "lying in bed", 118: "locked", 119: "movement", 120: "occupancy",
    121: "present, home", 122: "radio interference", 123: "radio test transmission missing",
    124: "radio test transmission re-established", 125: "tamper alarm",
    126: "temperature rate of rise", 127: "unlocked",
}
for _n in range(1, 10):
    STATUS_CODES[31 + _n] = f"error code {_n}"
    STATUS_CODES[52 + _n] = f"level {_n}"

LOCATION_CODES: Final[dict[int, str]] = {
    0: "unknown", 1: "undefined", 2: "home", 3: "away", 4: "indoors", 5: "outdoors",
    6: "inside", 7: "outside", 8: "area", 9: "zone", 10: "basement", 11: "bathroom",
    12: "bedroom", 13: "dining room", 14: "floor", 15: "garage", 16: "garden",
    17: "back garden", 18: "front garden", 19: "geo-fence", 20: "gym", 21: "kitchen",
    22: "laundry", 23: "relax", 24: "sauna", 25: "stairs", 26: "study", 27: "workshop",
    28: "loft", 29: "shed", 30: "temporary address", 31: "summer house",
    32: "winter cottage", 33: "mobile", 34: "geographic position", 35: "GPS position",
    36: "property", 37: "handicap WC", 38: "door", 39: "front door", 40: "back door",
    41: "fire door", 42: "hallway", 43: "living room", 44: "apartment", 45: "bungalow",
    46: "lounge", 47: "communal area", 48: "office", 49: "room", 50: "site", 51: "ward",
    52: "wing",
}


def device_type_name(code: int) -> str:
    return DEVICE_TYPES.get(code) or ("vendor device" if 900 <= code <= 999 else f"type {code}")


def status_name(code: int) -> str:
    return STATUS_CODES.get(code) or ("vendor status" if 900 <= code <= 999 else f"status {code}")


# ---------------------------------------------------------------------------
# Navet's reading of status codes in an ME (message) request
# ---------------------------------------------------------------------------

ALARM_STATUS: Final = frozenset({9, 10, 11, 110})
"""alarm (automatic), alarm (manual), alert, assistance; an omitted stc also means alarm."""

CANCEL_STATUS: Final[dict[int, str]] = {19: "resident", 92: "reset", 93: "reset"}
"""cancel -> cancelled by the resident; reset (automatic/manual) -> reset before handling."""

CHECKOUT_STATUS: Final = 111
"""check-out (intervention completed): staff finished at the home; an update to the alarm."""

BATTERY_LOW: Final = frozenset({14, 16})
BATTERY_OK: Final = frozenset({15})
MAINS_LOST: Final = 85
MAINS_RESTORED: Final = 86
LINK_LOST: Final = frozenset({23, 24, 25, 26, 27, 123})
LINK_RESTORED: Final = frozenset({91, 112, 113, 114, 115, 116, 124})
HARDWARE_FAULT: Final = frozenset({42, 52, 66, 67, 68, 78, 105})
HARDWARE_RESTORED: Final = frozenset({48})
TAMPER: Final = 125
MISSED_DOSE: Final = 81
INFORMATIONAL: Final = frozenset({4, 5, 41, 70, 75, 99, 102, 103})
"""Statuses that only say the unit is alive and well: a heartbeat, no alarm."""

# Device type -> alarm kind when the status says "alarm".
_KIND_BY_DEVICE: Final[dict[int, AlarmKind]] = {
    2: AlarmKind.PERSONAL_BUTTON, 3: AlarmKind.PERSONAL_BUTTON, 4: AlarmKind.PERSONAL_BUTTON,
    6: AlarmKind.PERSONAL_BUTTON, 7: AlarmKind.PERSONAL_BUTTON, 45: AlarmKind.PERSONAL_BUTTON,
    48: AlarmKind.PERSONAL_BUTTON,
    5: AlarmKind.FALL, 30: AlarmKind.FALL,
    10: AlarmKind.PASSIVE_NO_ACTIVITY,
    12: AlarmKind.PASSIVE_BED_EXIT,
    44: AlarmKind.PASSIVE_CHAIR_EXIT,
    14: AlarmKind.PASSIVE_DOOR_AT_NIGHT, 15: AlarmKind.PASSIVE_DOOR_AT_NIGHT,
    33: AlarmKind.PASSIVE_WATER_LEAK, 34: AlarmKind.PASSIVE_WATER_LEAK,
    13: AlarmKind.PASSIVE_OTHER, 16: AlarmKind.PASSIVE_OTHER, 17: AlarmKind.PASSIVE_OTHER,
    18: AlarmKind.PASSIVE_OTHER, 19: AlarmKind.PASSIVE_OTHER, 29: AlarmKind.PASSIVE_OTHER,
    11: AlarmKind.MEDICATION_MISSED_DOSE,
    51: AlarmKind.GPS_PANIC_OUTSIDE,
}


def alarm_kind(dty: int, stc: int | None) -> AlarmKind:
    """The kind of an alarm-status request from a device of type ``dty``."""
    if stc == MISSED_DOSE:
        return AlarmKind.MEDICATION_MISSED_DOSE
    if stc is not None and stc not in ALARM_STATUS:
        return AlarmKind.OTHER  # a status Navet has no reading for: an alarm, of unknown kind
    kind = _KIND_BY_DEVICE.get(dty)
    if kind is not None:
        return kind
    if stc == 10:  # "alarm (manual)": a person pressed something, whatever the device
        return AlarmKind.PERSONAL_BUTTON
    return AlarmKind.OTHER


_DEFAULT_PRIORITY: Final[dict[str, Priority]] = {
    AlarmKind.PERSONAL_BUTTON: Priority.CRITICAL,
    AlarmKind.FALL: Priority.CRITICAL,
    AlarmKind.GPS_PANIC_OUTSIDE: Priority.CRITICAL,
}
_ORDER: Final = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.CRITICAL)


def alarm_priority(kind: AlarmKind, pri: int | None) -> Priority:
    """Navet priority: the kind's default, raised (never lowered) by the sender's ``pri``.

    ``pri`` 0 (or omitted) is "lowest" in SS 91100, but units send it for every
    alarm; lowering a resident's button press because of a unit's default
    would be dangerous, so ``pri`` can only raise the priority.
    """
    if kind in _DEFAULT_PRIORITY:
        base = _DEFAULT_PRIORITY[kind]
    elif kind.value.startswith("technical."):
        base = Priority.NORMAL
    else:
        base = Priority.HIGH
    sent = Priority.LOW
    if pri is not None:
        sent = (Priority.LOW if pri <= 2 else Priority.NORMAL if pri <= 5
                else Priority.HIGH if pri <= 7 else Priority.CRITICAL)
    return max(base, sent, key=_ORDER.index)
