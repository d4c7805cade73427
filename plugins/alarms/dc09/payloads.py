"""DC-09 payloads: SIA-DCS (DC-03) event blocks and ADM-CID (Contact ID, DC-05).

Both are read into :class:`Signal` (one event code with its zone, area, user
and text). A SIA signal carries its two-letter code; a Contact ID signal
carries its qualifier and three-digit event, which :mod:`.contact_id` and
:mod:`.mapping` turn into a contract event (through the SIA code when Navet
reads the same condition in both protocols, so both name one alarm).

DC-03 data is a run of blocks separated by ``|`` (reference §2.1.4): ``N`` a
new event (modifiers ``ri`` area, ``id`` user, ``ti`` time, then a code with
its zone and ``^text^``, several with or without ``/`` between them) and
``A`` ASCII text. A text block, a block of a kind this reader does not know,
and text it cannot read after an event are kept as the event's text, not
refused; only data with no event code at all is refused.

Lenient where real panels differ from the text of the standard: blocks with
or without ``/`` between them, the account in the data with or without its
``#`` (a PROSEC panel sends ``[36214|NRP]``), data that begins with the block
separator (``[|Nri1/OP001]``), spaces in Contact ID optional.
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
TEXT_LIMIT = 500
"""The contract's limit on an event's text; longer text is cut, not refused."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One event code from a message, with what the panel said about it."""

    code: str
    zone: str = ""
    text: str | None = None
    modifiers: dict[str, str] = field(default_factory=dict)
    protocol_code: str = ""
    """The code as it came on the wire: ``MA`` for SIA, ``1100`` for Contact ID."""
    cid: str = ""
    """Contact ID: the three-digit event (``code`` is then empty)."""
    qualifier: str = ""
    """Contact ID: 1 new, 3 restore, 6 still present."""


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
    blocks = [b for b in body.split("|") if b.strip(" /")]  # "|N..." begins with "|"
    if not blocks:
        raise Dc09Error(f"{where}: SIA-DCS data is empty")
    kinds = {b.lstrip(" /")[0] for b in blocks}
    if kinds == {"A"}:
        return []  # a free-text message: nothing to act on
    out: list[Signal] = []
    texts: list[str] = []
    for block in blocks:
        block = block.lstrip(" /")
        if block[0] == "N":
            signals_, rest = _event_block(block[1:], where)
            out.extend(signals_)
            if rest:
                texts.append(rest)
        elif block[0] == "A":
            texts.append(block[1:].strip())
        else:
            texts.append(block.strip())  # a block kind we do not know: kept as text
    if not out:
        raise Dc09Error(f"{where}: SIA-DCS data {body[:40]!r} has no event block (N) "
                        "with an event code")
    extra = " / ".join(t for t in texts if t)
    if not extra:
        return out
    return [Signal(code=s.code, zone=s.zone, modifiers=s.modifiers,
                   protocol_code=s.protocol_code,
                   text=_cut(" / ".join(t for t in (s.text, extra) if t)))
            for s in out]


def _event_block(body: str, where: str) -> tuple[list[Signal], str]:
    """The events of one ``N`` block, and what could not be read after the last of them."""
    pos, mods = 0, {}
    out: list[Signal] = []
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
            if out:  # the event is read; what follows it is text (e.g. *"text"NM)
                return out, body[pos:].strip(" /")
            raise Dc09Error(f"{where}: cannot read SIA-DCS block at {body[pos:pos + 20]!r}")
        out.append(Signal(code=ev[1], zone=ev[2], text=ev[3] or None, modifiers=dict(mods),
                          protocol_code=ev[1]))
        pos = ev.end()
    return out, ""


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _cid(body: str, where: str) -> Signal:
    m = _CID.fullmatch(body.strip())
    if m is None:
        raise Dc09Error(f"{where}: ADM-CID data {body[:40]!r} is not QEEE GG CCC")
    qualifier, event, group, digits = m[1], m[2].upper(), m[3].upper(), m[4].upper()
    # Qualifier 6 ("previous / still present") reports a standing condition,
    # which Navet records like a new one (.mapping). The three digits are a zone
    # or a user by the event (.mapping.zone_and_user); ``zone`` holds them as sent.
    return Signal(code="", zone=digits, modifiers={"ri": group},
                  protocol_code=f"{qualifier}{event}", cid=event, qualifier=qualifier)
