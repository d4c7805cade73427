"""DC-09 payloads: SIA-DCS (DC-03) event blocks and ADM-CID (Contact ID, DC-05).

Both are read into :class:`Signal` (one SIA event code with its zone, area,
user and text); Contact ID is first translated to its SIA code with the
mapping table of reference/alarm-centre-protocols.md §2.1.4. What a signal
means in Navet's model lives in :mod:`.mapping`.

Lenient where real panels differ from the text of the standard: blocks with
or without ``/`` between them, the account in the data with or without its
``#`` (a PROSEC panel sends ``[36214|NRP]``), spaces in Contact ID optional.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .const import ID_CID, ID_NULL, ID_SIA
from .frame import Dc09Error, Message

_ACCOUNT_PREFIX = re.compile(r"#?([0-9A-Fa-f]{3,16})\|")
_MODIFIER = re.compile(r"([a-z]{2})([0-9:]*)")
_EVENT = re.compile(r"([A-Z]{2})([0-9]{0,6})(?:\^([^\^\]\[|]*)\^)?")
_CID = re.compile(r"([136])([0-9A-Fa-f]{3}) ?([0-9A-Fa-f]{2}) ?([0-9A-Fa-f]{3})")

CID_TO_SIA: dict[str, tuple[str, str]] = {
    "100": ("MA", "MH"),  # medical alarm
    "101": ("QA", "QH"),  # emergency (personal) alarm
    "110": ("FA", "FH"),  # fire
    "301": ("AT", "AR"),  # AC (mains) trouble / restoral
    "302": ("YT", "YR"),  # system battery trouble
    "309": ("YT", "YR"),  # battery test failure
    "311": ("YM", "YR"),  # battery missing
    "350": ("YC", "YK"),  # communication fail / restoral
    "354": ("YC", "YK"),  # failure to communicate
    "381": ("YC", "YK"),  # loss of supervision
    "382": ("YC", "YK"),
    "380": ("YX", "YZ"),  # service required
    "602": ("RP", "RP"),  # automatic test
}
"""Contact ID event -> SIA code for qualifier 1 (new) and 3 (restore)."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One event code from a message, with what the panel said about it."""

    code: str
    zone: str = ""
    text: str | None = None
    modifiers: dict[str, str] = field(default_factory=dict)
    protocol_code: str = ""
    """The code as it came on the wire: ``MA`` for SIA, ``1100`` for Contact ID."""


def signals(message: Message) -> list[Signal]:
    """The signals in one opened message; NULL has none.

    :raises Dc09Error: the data does not read as the message's ID token says.
    """
    token = message.frame.token
    where = f"{token} {message.frame.seq} from #{message.frame.account}"
    if token == ID_NULL:
        if message.data:
            raise Dc09Error(f"{where}: NULL carries data {message.data[:40]!r}")
        return []
    body = _strip_account(message.data, message.frame.account, where)
    if token == ID_SIA:
        return _sia(body, where)
    if token == ID_CID:
        return [_cid(body, where)]
    raise Dc09Error(f"{where}: unknown message ID token {token!r}")


def _strip_account(data: str, account: str, where: str) -> str:
    m = _ACCOUNT_PREFIX.match(data)
    if m is None:
        return data
    if m[1].upper() != account:
        # A CRC-valid frame whose header and data name different accounts could
        # put an alarm on the wrong resident; refuse it rather than guess.
        raise Dc09Error(f"{where}: data names account {m[1]!r}, header names {account!r}")
    return data[m.end():]


def _sia(body: str, where: str) -> list[Signal]:
    if body.startswith("A"):
        return []  # a free-text message: nothing to act on
    if not body.startswith("N"):
        raise Dc09Error(f"{where}: SIA-DCS data {body[:40]!r} does not start with N or A")
    pos, mods, out = 1, {}, []
    while pos < len(body):
        if body[pos] == "/":
            pos += 1
            continue
        mod = _MODIFIER.match(body, pos)
        if mod is not None:
            mods[mod[1]] = mod[2]
            pos = mod.end()
            continue
        ev = _EVENT.match(body, pos)
        if ev is None:
            raise Dc09Error(f"{where}: cannot read SIA-DCS block at {body[pos:pos + 20]!r}")
        out.append(Signal(code=ev[1], zone=ev[2], text=ev[3] or None, modifiers=dict(mods),
                          protocol_code=ev[1]))
        pos = ev.end()
    if not out:
        raise Dc09Error(f"{where}: SIA-DCS data {body[:40]!r} has no event code")
    return out


def _cid(body: str, where: str) -> Signal:
    m = _CID.fullmatch(body)
    if m is None:
        raise Dc09Error(f"{where}: ADM-CID data {body[:40]!r} is not QEEE GG CCC")
    qualifier, event, group, zone = m[1], m[2].upper(), m[3].upper(), m[4].upper()
    pair = CID_TO_SIA.get(event)
    if pair is None:
        raise Dc09Error(f"{where}: unknown Contact ID event {event}")
    # Qualifier 6 ("previous / still present") reports a standing condition,
    # which Navet records like a new one.
    code = pair[1] if qualifier == "3" else pair[0]
    return Signal(code=code, zone=zone, modifiers={"ri": group},
                  protocol_code=f"{qualifier}{event}")
