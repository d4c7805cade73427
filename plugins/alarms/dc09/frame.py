"""DC-09 frames: parse and build ``<LF>CRC 0LLL "ID" seq R L #acct [data] ... _ts <CR>``.

Facts from reference/alarm-centre-protocols.md §2.1. Two rules shape this
module:

- **Strict on output**: we emit uppercase hex, ``0LLL`` lengths, ``/`` between
  SIA blocks, a timestamp on every message.
- **Lenient on input** where transmitters in the field differ from the letter
  of the standard (docs/protocols/dc09.md, "Variants accepted"): the CR/LF
  framing bytes, hex case, a missing header account when the data carries
  ``#acct|``, a header without the ``L`` (line) field (read as line 0 and
  answered without one, as it came), a sequence that is not four decimal
  digits (dc09-spt counts ``0009``, ``000A`` in hex; echoed as it came).

Every error is a :class:`gateway.PayloadError` subclass naming what was
wrong, so the receiver can pick its answer from the class: a
:class:`FramingError` (bad CRC, bad length, garbage) gets no answer at all
(DC-09-2007 C.2.3.5), a :class:`DecryptError` gets a NAK.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway import PayloadError

from .const import ADAPTER, CR, LF, TIMESTAMP_FORMAT

# --------------------------------------------------------------------------- errors


class Dc09Error(PayloadError):
    """Base of this adapter's decode errors; always names the adapter."""

    def __init__(self, reason: str, *, device: str | None = None) -> None:
        super().__init__(reason, adapter=ADAPTER, device=device)


class FramingError(Dc09Error):
    """Not a DC-09 frame (shape, length or CRC). The transmitter gets no answer."""


class DecryptError(Dc09Error):
    """An encrypted frame that does not decrypt with its account's key. Answered NAK."""


# --------------------------------------------------------------------------- CRC


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC_TABLE = _crc_table()
"""CRC-16/ARC lookup table (reflected polynomial 0xA001)."""


def crc16(data: bytes) -> int:
    """CRC-16/ARC (poly 0x8005 reflected, init 0, no xorout): check value 0xBB3D.

    Not CRC-16/XMODEM, which some published snippets use by mistake.
    """
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc


# --------------------------------------------------------------------------- timestamps


def format_timestamp(when: datetime) -> str:
    """``HH:MM:SS,MM-DD-YYYY`` in UTC, without the leading underscore."""
    return when.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Read ``HH:MM:SS,MM-DD-YYYY`` (UTC). :raises Dc09Error: naming the text."""
    if not _TIMESTAMP.fullmatch(text):
        raise Dc09Error(f"timestamp {text!r} is not HH:MM:SS,MM-DD-YYYY")
    try:
        return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError as err:
        raise Dc09Error(f"timestamp {text!r} is not a real date and time: {err}") from err


_TIMESTAMP = re.compile(r"\d\d:\d\d:\d\d,\d\d-\d\d-\d{4}")

# --------------------------------------------------------------------------- frames

_HEADER = re.compile(
    r'"(?P<star>\*?)(?P<token>[A-Z][A-Z-]{0,15})"'
    r"(?P<seq>[0-9A-Fa-f]{1,4})"
    r"(?:R(?P<rcvr>[0-9A-Fa-f]{1,6}))?"
    r"(?:L(?P<line>[0-9A-Fa-f]{1,6}))?"
    r"(?:#(?P<acct>[0-9A-Fa-f]{3,16})|A0)?"  # A0: the account field of a NAK
    r"\["
)
_DATA_ACCOUNT = re.compile(r"#([0-9A-Fa-f]{3,16})\|")
_STANDARD_SEQ = re.compile(r"\d{4}")


@dataclass(frozen=True, slots=True)
class Frame:
    """One DC-09 frame, checked for shape, length and CRC but not yet opened.

    ``content`` is everything after the header's ``[``: ``data]`` plus
    x-data and timestamp for a clear frame, the ciphertext hex for an
    encrypted one.
    """

    token: str
    encrypted: bool
    seq: str
    """As it came: ``0001``..``9999`` by the standard, hex (``000A``) from some diallers."""
    receiver: str | None
    line: str | None
    """``None`` when the header had no ``L`` field (read as line 0, answered without one)."""
    account: str
    content: str

    @property
    def standard_seq(self) -> bool:
        """True when the sequence is four decimal digits, as the standard writes it."""
        return _STANDARD_SEQ.fullmatch(self.seq) is not None


@dataclass(frozen=True, slots=True)
class Message:
    """An opened frame: the data between the brackets, x-data and timestamp."""

    frame: Frame
    data: str
    xdata: tuple[str, ...]
    timestamp: datetime | None
    timestamp_text: str | None


def parse_frame(raw: bytes) -> Frame:
    """Check and split one frame.

    Accepts the frame with or without its ``<LF>`` / ``<CR>`` framing bytes.

    :raises FramingError: shape, length or CRC is wrong (say which).
    """
    body = raw
    if body[:1] == bytes([LF]):
        body = body[1:]
    if body[-1:] == bytes([CR]):
        body = body[:-1]
    if len(body) < 9:
        raise FramingError(f"frame of {len(raw)} bytes is too short for CRC, length and ID")
    head, rest = body[:8], body[8:]
    try:
        crc_text, len_text = head[:4].decode("ascii"), head[4:].decode("ascii")
        crc_given, len_given = int(crc_text, 16), int(len_text, 16)
    except ValueError:
        raise FramingError(f"CRC and length must be 8 hex characters, got {head!r}") from None
    if not all(c in "0123456789abcdefABCDEF" for c in crc_text + len_text):
        raise FramingError(f"CRC and length must be 8 hex characters, got {head!r}")
    if len_given != len(rest):
        raise FramingError(
            f"length field says {len_given} bytes but {len(rest)} follow it"
        )
    crc = crc16(rest)
    if crc != crc_given:
        raise FramingError(f"CRC mismatch: frame says {crc_given:04X}, content gives {crc:04X}")
    try:
        text = rest.decode("ascii")
    except UnicodeDecodeError as err:
        raise FramingError(f"frame is not ASCII at byte {err.start}") from err
    m = _HEADER.match(text)
    if m is None:
        raise FramingError(
            f'header {text[:40]!r} is not "ID"seq[Rrcvr][Lpref][#acct][ (ID token, '
            "sequence of up to 4 digits)"
        )
    account = (m["acct"] or "").upper()
    content = text[m.end():]
    if not account and m["token"] not in ("NAK", "DUH"):
        found = None if m["star"] else _DATA_ACCOUNT.match(content)
        if found is None:
            raise FramingError(f"frame {m['token']} {m['seq']} names no account (#acct)")
        account = found[1].upper()
    return Frame(
        token=m["token"], encrypted=bool(m["star"]), seq=m["seq"],
        receiver=m["rcvr"].upper() if m["rcvr"] else None,
        line=m["line"].upper() if m["line"] else None,
        account=account, content=content,
    )


def split_content(content: str, *, where: str = "frame") -> tuple[str, tuple[str, ...], str | None]:
    """``data]`` ``[x]...`` ``_timestamp`` -> (data, x-data, timestamp text or None)."""
    end = content.find("]")
    if end < 0:
        raise Dc09Error(f"{where}: data has no closing ']'")
    data, rest = content[:end], content[end + 1:]
    if "[" in data:
        raise Dc09Error(f"{where}: data {data[:40]!r} contains '['")
    xdata: list[str] = []
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            raise Dc09Error(f"{where}: extended data {rest[:40]!r} has no closing ']'")
        xdata.append(rest[1:close])
        rest = rest[close + 1:]
    stamp: str | None = None
    if rest.startswith("_"):
        stamp, rest = rest[1:20], rest[20:]  # HH:MM:SS,MM-DD-YYYY is 19 characters
    if rest:
        raise Dc09Error(f"{where}: unexpected {rest[:40]!r} after the data")
    return data, tuple(xdata), stamp


def clear_content(data: str, xdata: tuple[str, ...] = (), timestamp: datetime | None = None) -> str:
    """What follows ``[`` in a clear frame (and, after padding, in an encrypted one)."""
    tail = "".join(f"[{x}]" for x in xdata)
    if timestamp is not None:
        tail += "_" + format_timestamp(timestamp)
    return f"{data}]{tail}"


def encode_frame(
    token: str,
    seq: str | int,
    *,
    line: str | None,
    account: str | None,
    content: str,
    receiver: str | None = None,
    encrypted: bool = False,
) -> bytes:
    """Build a frame: uppercase hex CRC and ``0LLL`` length over ``"`` .. before ``<CR>``.

    An ``int`` sequence is written as four decimal digits (what we send); a
    ``str`` one is an echo of what a transmitter sent and is written as it came
    (up to four hex digits). ``line=None`` writes no ``L`` field (an echo of a
    header that had none).
    """
    seq_text = f"{int(seq):04d}" if isinstance(seq, int) else seq
    if not re.fullmatch(r"[0-9A-Fa-f]{1,4}", seq_text):
        raise ValueError(f"sequence must be up to 4 (hex) digits, got {seq!r}")
    header = f'"{"*" if encrypted else ""}{token}"{seq_text}'
    if receiver is not None:
        header += f"R{receiver}"
    if line is not None:
        header += f"L{line}"
    if account:
        header += f"#{account}"
    body = (header + "[" + content).encode("ascii")
    if len(body) > 0xFFF:
        raise ValueError(f"frame body of {len(body)} bytes exceeds 0LLL")
    return b"\n%04X%04X%s\r" % (crc16(body), len(body), body)
