"""Constants for the SCAIP receiver (SS 91100, carried in SIP MESSAGE)."""

from typing import Final

ADAPTER: Final = "scaip"
PROTOCOL: Final = "scaip"
CONTENT_TYPE: Final = "application/scaip+xml"

DEFAULT_PORT: Final = 5060
"""SS 91100 names no port; the usual SIP port (UDP and TCP)."""

DEFAULT_TLS_PORT: Final = 5061
"""The usual port of SIP over TLS (RFC 3261 §26.2)."""

MAX_XML_BYTES: Final = 16 * 1024
"""A SCAIP request is at most a few hundred bytes (TR 91102: >1000 bytes go over TCP)."""

MAX_SIP_BYTES: Final = 64 * 1024
"""Largest SIP message (headers + body) the listener reads before refusing it."""

HOLD_MAX_S: Final = 30 * 60
"""SS 91100 §4.2: HOLD polling lasts at most 30 minutes; sessions are kept a bit longer."""

SESSION_TTL_S: Final = HOLD_MAX_S + 10 * 60

# snu: status numbers of <mrs> (SS 91100 Table 2)
SNU_OK: Final = 0
SNU_TOO_LONG: Final = 1
SNU_INVALID_FORMAT: Final = 2
SNU_WRONG_CONTENT: Final = 3
SNU_HOLD: Final = 4
SNU_NOT_TREATED: Final = 5
SNU_BUSY: Final = 6
SNU_MANDATORY_MISSING: Final = 7
SNU_REF_MISSING: Final = 10
SNU_UNDEFINED: Final = 99

HANDLED_STATES: Final = frozenset({
    "alarm.acknowledged", "alarm.dispatched", "alarm.attended", "alarm.closed",
    "alarm.cancelled",
})
"""Alarm lifecycle states in which a person has the alarm (or it is over): answer snu=0."""

FINISHED_STATES: Final = frozenset({"alarm.closed", "alarm.cancelled"})
"""States after which a new request with the same ref is a new alarm (a unit reused a ref)."""
