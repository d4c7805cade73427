"""Receiver answers: ACK, NAK and DUH (reference/alarm-centre-protocols.md §2.1.5).

- ACK echoes the message's sequence, receiver, line and account; it is
  encrypted with the account key when the message was.
- NAK is ``"NAK"0000R0L0A0[]_<our time>``, never encrypted: the timestamp lets
  the transmitter correct its clock. The receiver and line fields are those
  of the message as they came (none when it had none); ``R0L0`` only when
  there is no message to echo.
- DUH ("don't understand") echoes like ACK, always in clear; the transmitter
  must not repeat the message.

Every answer echoes the sequence, receiver and line exactly as they came:
a header without ``L`` gets an answer without ``L``, a hex sequence its hex
back (docs/protocols/dc09.md, "Variants accepted").
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


def nak(now: datetime, frame: Frame | None = None) -> bytes:
    """NAK carrying the receiver's time: sequence ``0000`` and account ``A0``, with the
    receiver and line fields of ``frame`` as they came (``R0L0`` without a frame)."""
    if frame is None:
        prefix = "R0L0"
    else:
        prefix = (f"R{frame.receiver}" if frame.receiver is not None else "") + (
            f"L{frame.line}" if frame.line is not None else "")
    body = f'"{ID_NAK}"0000{prefix}A0[]_{format_timestamp(now)}'
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
