"""Constants for the SIA DC-09 receiver (facts: reference/alarm-centre-protocols.md §2.1)."""

from __future__ import annotations

from typing import Final

ADAPTER: Final = "dc09"
PROTOCOL: Final = "sia-dc09"

LF: Final = 0x0A
CR: Final = 0x0D

ID_SIA: Final = "SIA-DCS"
ID_CID: Final = "ADM-CID"
ID_NULL: Final = "NULL"
ID_ACK: Final = "ACK"
ID_NAK: Final = "NAK"
ID_DUH: Final = "DUH"
ID_RSP: Final = "RSP"
MESSAGE_IDS: Final = frozenset({ID_SIA, ID_CID, ID_NULL})
"""ID tokens a transmitter sends and this receiver understands."""
RESPONSE_IDS: Final = frozenset({ID_ACK, ID_NAK, ID_DUH, ID_RSP})

TIMESTAMP_FORMAT: Final = "%H:%M:%S,%m-%d-%Y"
"""``_HH:MM:SS,MM-DD-YYYY`` after the leading underscore; always UTC."""

DEFAULT_PAST_S: Final = 40
DEFAULT_FUTURE_S: Final = 20
"""Timestamp window: 40 s in the past to 20 s in the future (pysiaalarm's default)."""

MAX_FRAME_BYTES: Final = 4 + 4 + 0xFFF + 2
"""LF + CRC + LLLL + the longest body ``0LLL`` can announce + CR."""

PAD_FORBIDDEN: Final = frozenset("[]|")
"""Characters that must never appear in AES padding."""
