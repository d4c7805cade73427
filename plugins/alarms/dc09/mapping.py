"""What a DC-09 signal means in contract v1.

SIA codes and meanings: reference/alarm-centre-protocols.md §2.1.4. An
unknown SIA code is refused as a whole message (the receiver answers DUH, the
frame becomes a dead letter an operator can read): guessing what an alarm
code means is worse than saying we do not know.

Contact ID is different: its event list is standard and grouped by range,
so every code has a meaning (:mod:`.contact_id`, :func:`cid_meaning`) and a
code outside Navet's table still becomes an event carrying the code (an
alarm in the 1xx range), never a refused alarm.

Ids. DC-09 has no message id; the id parts are account, sequence and the
panel's timestamp, and deliberately *not* the receiver and line prefix, so
the same message arriving over both paths of a dual-path transmitter is
stored once. A message without timestamp falls back to the receive time:
only the receiver's in-memory sequence check then stops a retransmission.

Alarm ids. DC-09 does not number alarms either, so an alarm is named by the
condition that raised it (account, alarm code, zone); the restore of that
condition cancels that alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway import AlarmKind, DeviceKind, Event, Priority, device_id, make_event

from .const import ADAPTER, PROTOCOL
from .contact_id import ALARM, BATTERY, OPEN_CLOSE, TAMPER, TEST, USER_CODES, lookup
from .frame import Dc09Error, Message
from .payloads import TEXT_LIMIT, Signal


@dataclass(frozen=True, slots=True)
class Meaning:
    type: str
    data: dict[str, Any]
    text: str
    priority: Priority | None = None
    alarm_code: str | None = None
    """For alarms and their restores: the code that raised the alarm."""


def _alarm(kind: AlarmKind, text: str, code: str) -> Meaning:
    return Meaning("alarm.raised", {"kind": kind}, text, Priority.CRITICAL, code)


def _restore(text: str, code: str) -> Meaning:
    return Meaning("alarm.cancelled", {"reason": "device"}, text, None, code)


def _fault(kind: str, active: bool, text: str) -> Meaning:
    return Meaning("device.fault", {"kind": kind, "active": active}, text)


def _battery(low: bool, text: str) -> Meaning:
    return Meaning("device.battery", {"low": low}, text)


def _alive(text: str) -> Meaning:
    return Meaning("device.heartbeat", {}, text)


SIA_CODES: dict[str, Meaning] = {
    "MA": _alarm(AlarmKind.PERSONAL_BUTTON, "medical alarm", "MA"),
    "MH": _restore("medical alarm restore", "MA"),
    "QA": _alarm(AlarmKind.PERSONAL_BUTTON, "emergency (personal) alarm", "QA"),
    "QH": _restore("emergency alarm restore", "QA"),
    # PA/PH (panic) are standard DC-03 codes that our reference does not list;
    # panels used as social alarms send them for the help button.
    "PA": _alarm(AlarmKind.PERSONAL_BUTTON, "panic alarm", "PA"),
    "PH": _restore("panic alarm restore", "PA"),
    # The v1 catalogue has no fire kind yet; "other" with code FA is the honest fit.
    "FA": _alarm(AlarmKind.OTHER, "fire alarm", "FA"),
    "FH": _restore("fire alarm restore", "FA"),
    "AT": _fault("mains_lost", True, "AC (mains) trouble"),
    "AR": _fault("mains_lost", False, "AC (mains) restoral"),
    "YT": _battery(True, "system battery trouble"),
    "YM": _battery(True, "system battery missing"),
    "YR": _battery(False, "system battery restoral"),
    "XT": _battery(True, "transmitter battery trouble"),
    "XR": _battery(False, "transmitter battery restoral"),
    "YC": _fault("link_lost", True, "communication fail"),
    "YS": _fault("link_lost", True, "communications trouble"),
    "YK": _fault("link_lost", False, "communication restoral"),
    "YX": _fault("hardware", True, "service required"),
    "YZ": _fault("hardware", False, "service completed"),
    "YP": _fault("hardware", True, "power supply trouble"),
    "YQ": _fault("hardware", False, "power supply restore"),
    "MT": _fault("hardware", True, "medical trouble"),
    "MJ": _fault("hardware", False, "medical trouble restore"),
    "QT": _fault("hardware", True, "emergency trouble"),
    "QJ": _fault("hardware", False, "emergency trouble restore"),
    # Standard DC-03 alarms beyond the reference's list. WA is what Navet's own DC-09 sink
    # sends for a water leak (gateway.core.model.sia), so a Navet upstream must read it.
    "WA": _alarm(AlarmKind.PASSIVE_WATER_LEAK, "water alarm", "WA"),
    "WH": _restore("water alarm restore", "WA"),
    "BA": _alarm(AlarmKind.OTHER, "burglary alarm", "BA"),
    "BH": _restore("burglary alarm restore", "BA"),
    "GA": _alarm(AlarmKind.OTHER, "gas alarm", "GA"),
    "GH": _restore("gas alarm restore", "GA"),
    "HA": _alarm(AlarmKind.PERSONAL_BUTTON, "holdup (duress) alarm", "HA"),
    "HH": _restore("holdup alarm restore", "HA"),
    "KA": _alarm(AlarmKind.OTHER, "heat alarm", "KA"),
    "KH": _restore("heat alarm restore", "KA"),
    "UA": _alarm(AlarmKind.OTHER, "untyped zone alarm", "UA"),
    "UH": _restore("untyped zone alarm restore", "UA"),
    "TA": Meaning("device.tamper", {"active": True}, "tamper alarm"),
    "TR": Meaning("device.tamper", {"active": False}, "tamper restoral"),
    # Opening/closing (the number is a user, SIA_USER_CODES): contract v1 has no arming
    # event; the report proves the unit alive, and the user is kept in location.user.
    "OP": _alive("opening report"),
    "CL": _alive("closing report"),
    "RP": _alive("automatic test"),
    "RX": _alive("manual test"),
    "RR": _alive("power up"),
}
"""SIA code -> Navet meaning. Extend with care: every entry is a promise."""


SIA_USER_CODES: frozenset[str] = frozenset({
    "OP", "CL",  # opening / closing report
    "OR",  # disarm from alarm
    "OC",  # cancel report
    "OJ", "OK", "OH", "OL", "OT", "OQ",  # late / early / remote opening
    "CE", "CF", "CJ", "CK", "CP", "CQ", "CR",  # extended / forced / late / early / remote closing
})
"""SIA codes whose number is a user (who opened or closed), not a zone (SIA DC-03)."""

_ZONE_OR_USER = re.compile(r"^[0-9A-Za-z]{1,16}$")


def zone_and_user(signal: Signal) -> tuple[str | None, str | None]:
    """``(zone, user)`` of a signal, each exactly as sent, or None when the panel gave none.

    Contact ID (a four-digit protocol code ``QEEE``): ``CCC`` is a user for the
    events of :data:`.contact_id.USER_CODES` (opening/closing, access, a few
    tests) and a zone for every other event. SIA-DCS: the number after the code
    is a user for :data:`SIA_USER_CODES` and a zone for every other code; an
    ``id`` modifier names the user.
    """
    code, number = signal.protocol_code, signal.zone or None
    if len(code) == 4 and code.isdigit():
        by_user = code[1:] in USER_CODES
        user = None
    else:
        by_user = code in SIA_USER_CODES
        user = signal.modifiers.get("id") or None
    zone = None if by_user else number
    if by_user:
        user = user or number
    return (zone if zone and _ZONE_OR_USER.match(zone) else None,
            user if user and _ZONE_OR_USER.match(user) else None)


def _location(signal: Signal) -> dict[str, Any] | None:
    zone, user = zone_and_user(signal)
    if zone is None and user is None:
        return None
    text = ", ".join(f"{what} {value}" for what, value in (("zone", zone), ("user", user))
                     if value)
    return {"text": text, "code": f"zone {zone}" if zone else None, "zone": zone, "user": user}


def events_for(
    message: Message,
    signals: list[Signal],
    *,
    tenant: str,
    received: Any,
    device_kind: DeviceKind,
) -> list[Event]:
    """Contract events for one opened message (a heartbeat for NULL).

    :raises Dc09Error: a code this adapter does not know.
    """
    frame = message.frame
    account = frame.account
    stamp = message.timestamp_text or f"rx {received.isoformat()}"
    ref = f"#{account}/{frame.seq}/{stamp}"
    common: dict[str, Any] = {
        "tenant": tenant,
        "time": message.timestamp or received,
        "source": {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": ref},
        "device": {"id": device_id(ADAPTER, account), "kind": device_kind},
    }
    if not signals:
        return [make_event("device.heartbeat", **common, data={})]
    events: list[Event] = []
    for index, signal in enumerate(signals):
        meaning = cid_meaning(signal) if signal.cid else SIA_CODES.get(signal.code)
        if meaning is None:
            raise Dc09Error(
                f"{frame.token} {frame.seq}: unknown SIA event code {signal.code!r}",
                device=account,
            )
        events.append(_event(meaning, signal, index, account, common))
    return events


def cid_meaning(signal: Signal) -> Meaning:
    """What a Contact ID signal means; every code has one (:mod:`.contact_id`)."""
    entry = lookup(signal.cid)
    restore = signal.qualifier == "3"
    if entry.sia is not None and entry.sia[restore] in SIA_CODES:
        return SIA_CODES[entry.sia[restore]]  # one alarm id whichever protocol named it
    if entry.group == ALARM:
        code = f"CID{signal.cid}"
        if restore:
            return _restore(f"{entry.text} restore", code)
        return _alarm(AlarmKind(entry.kind), entry.text, code)
    if entry.group == BATTERY:
        return _battery(not restore, entry.text + (" restore" if restore else ""))
    if entry.group == TAMPER:
        return Meaning("device.tamper", {"active": not restore}, entry.text)
    if entry.group in (TEST, OPEN_CLOSE):
        # The contract has no arming or test event: the report proves the unit alive.
        return _alive(entry.text)
    # trouble, bypass and any code outside the table: a fault that starts or clears
    return _fault(entry.kind if entry.group != "bypass" else "other", not restore,
                  entry.text + (" restore" if restore else ""))


def _event(
    meaning: Meaning, signal: Signal, index: int, account: str, common: dict[str, Any]
) -> Event:
    data = dict(meaning.data)
    text = (signal.text or meaning.text)[:TEXT_LIMIT]
    if meaning.type in ("alarm.raised", "device.fault"):
        data.update(text=text, code=signal.protocol_code)
    extra: dict[str, Any] = {}
    if meaning.alarm_code is not None:
        extra["alarm"] = f"{account}-{meaning.alarm_code}-{signal.zone or '0'}"
        extra["priority"] = meaning.priority
    location = _location(signal)
    if location is not None:
        extra["location"] = location
    return make_event(
        meaning.type, **common, **extra, data=data,
        id_parts=(str(index), signal.protocol_code),
    )
