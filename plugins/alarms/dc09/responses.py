"""Receiver answers: ACK, NAK and DUH (reference/alarm-centre-protocols.md §2.1.5).

- ACK echoes the message's sequence, receiver, line and account; it is
  encrypted with the account key when the message was.
- NAK is ``"NAK"0000R0L0A0[]_<our time>``, never encrypted: the timestamp lets
  the transmitter correct its clock.
- DUH ("don't understand") echoes like ACK, always in clear; the transmitter
  must not repeat the message.
"""

from __future__ import annotations

from datetime import datetime

from .const import ID_ACK, ID_DUH, ID_NAK
from .crypto import seal
from .frame import Frame, clear_content, crc16, encode_frame, format_timestamp


def ack(frame: Frame, now: datetime, key: bytes | None = None) -> bytes:
    """ACK for ``frame``; encrypted when ``frame`` was (``key`` required then)."""
    content = clear_content("", (), now)
    encrypted = frame.encrypted and key is not None
    if encrypted:
        assert key is not None
        content = seal(key, content, has_data=False)
    return encode_frame(
        ID_ACK, frame.seq, line=frame.line, account=frame.account, content=content,
        receiver=frame.receiver, encrypted=encrypted,
    )


def nak(now: datetime) -> bytes:
    """NAK carrying the receiver's time, with the fixed ``0000R0L0A0`` header."""
    body = f'"{ID_NAK}"0000R0L0A0[]_{format_timestamp(now)}'
    # The account is written "A0" without '#', so build it by hand rather than
    # through encode_frame, which always writes '#acct'.
    raw = body.encode("ascii")
    return b"\n%04X%04X%s\r" % (crc16(raw), len(raw), raw)


def duh(frame: Frame) -> bytes:
    """DUH for ``frame``: understood the framing, not the message. Never encrypted."""
    return encode_frame(
        ID_DUH, frame.seq, line=frame.line, account=frame.account or None,
        content=clear_content(""), receiver=frame.receiver,
    )
