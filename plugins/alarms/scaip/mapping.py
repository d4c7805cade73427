"""From one ``<mrq>`` to contract v1 events. Pure: the same frame gives the same events.

Ids: every event's ``source.ref`` is the SCAIP ``ref`` and its id is derived
from the unit, the ref, the listener's session stamp (``meta["session"]``,
empty unless the unit reused a ref of a finished alarm), the message type and
the event type. A HOLD resend of the same ``<mrq>`` therefore yields the same
ids and is stored once. ``IN`` updates add a digest of their content, so two
different updates in one session are two events.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from gateway import AlarmKind, DeviceKind, Event, RawFrame, device_id, make_event

from . import codes as c
from .const import ADAPTER, PROTOCOL
from .models import Mrq


class Nature(StrEnum):
    """What a request is, as far as the session with the unit is concerned."""

    ALARM = "alarm"          # a person (or sensor) needs help: HOLD until acknowledged
    TECHNICAL = "technical"  # a technical alarm: low battery, mains, link, hardware
    CANCEL = "cancel"        # cancel / reset / check-out of the unit's open alarm
    STATUS = "status"        # a state change that is no alarm (restored, tamper, info)
    UPDATE = "update"        # IN: more information in an open session
    ABORT = "abort"          # RE: the unit stopped waiting for this session
    HEARTBEAT = "heartbeat"  # PI


_TECHNICAL: dict[int, AlarmKind] = {
    **{s: AlarmKind.TECHNICAL_LOW_BATTERY for s in c.BATTERY_LOW},
    c.MAINS_LOST: AlarmKind.TECHNICAL_MAINS_LOST,
    **{s: AlarmKind.TECHNICAL_LINK_LOST for s in c.LINK_LOST},
    **{s: AlarmKind.TECHNICAL_OTHER for s in c.HARDWARE_FAULT},
}
_STATUS = (c.BATTERY_OK | c.LINK_RESTORED | c.HARDWARE_RESTORED | c.INFORMATIONAL
           | {c.MAINS_RESTORED, c.TAMPER})


def nature(mrq: Mrq) -> Nature:
    if mrq.mty == "PI":
        return Nature.HEARTBEAT
    if mrq.mty == "RE":
        return Nature.ABORT
    if mrq.mty == "IN":
        return Nature.UPDATE
    stc = mrq.stc
    if stc is not None and (stc in c.CANCEL_STATUS or stc == c.CHECKOUT_STATUS):
        return Nature.CANCEL
    if stc is not None and stc in _TECHNICAL:
        return Nature.TECHNICAL
    if stc is not None and stc in _STATUS:
        return Nature.STATUS
    # omitted stc means "alarm state" (SS 91100); unknown codes are alarms too, so
    # nothing a unit reports is silently taken as harmless.
    return Nature.ALARM


def unit_of(address: str) -> str:
    """The unit id (SIP user) from the frame address ``sip:<unit>@<host>``."""
    rest = address.split(":", 1)[1] if ":" in address else address
    return rest.split("@", 1)[0] or rest


def alarm_id(unit: str, ref: str, session: str = "") -> str:
    base = f"scaip:{unit}:{ref}"
    return f"{base}:{session}" if session else base


def _code(mrq: Mrq) -> str:
    code = f"dty:{mrq.dty:04d}"
    if mrq.stc is not None:
        code += f"/stc:{mrq.stc:04d}"
    return code


def _text(mrq: Mrq, what: str | None = None) -> str:
    head = c.device_type_name(mrq.dty)
    if mrq.did:
        head += f" {mrq.did}"
    parts = [f"{head}: {what or (c.status_name(mrq.stc) if mrq.stc is not None else 'alarm')}"]
    parts += [t for t in (mrq.dte, mrq.stt, mrq.ite) if t]
    return " - ".join(parts)[:500]


_ZONE = re.compile(r"^[0-9A-Za-z]{1,16}$")


def zone_of(mrq: Mrq) -> str | None:
    """The unit's ``did`` as ``location.zone``: which of its devices raised the alarm.

    ``did`` is to a SCAIP unit what the zone is to a DC-09 panel (the detector
    or pendant that triggered), so it is the zone a forwarding sink passes on.
    A ``did`` with characters a zone cannot hold (spaces, dashes) stays in the
    text only. ``lco`` is *where* (a location kind: bedroom, garden) and stays
    ``location.code`` ``scaip-lco:NNN``.
    """
    return mrq.did if mrq.did and _ZONE.match(mrq.did) else None


def _location(mrq: Mrq) -> dict[str, Any] | None:
    text = " ".join(t for t in (
        c.LOCATION_CODES.get(mrq.lco, f"location {mrq.lco}") if mrq.lco is not None else None,
        mrq.lva, mrq.lte) if t)
    point = None
    if mrq.lge is not None and mrq.lge.lat is not None and mrq.lge.lon is not None:
        point = {"lat": mrq.lge.lat, "lon": mrq.lge.lon}
    zone = zone_of(mrq)
    if not text and point is None and mrq.lco is None and zone is None:
        return None
    return {"text": text[:200] or None,
            "code": f"scaip-lco:{mrq.lco:03d}" if mrq.lco is not None else None,
            "point": point, "zone": zone}


def _digest(mrq: Mrq) -> str:
    return hashlib.sha256(repr(mrq).encode()).hexdigest()[:16]


def to_events(mrq: Mrq, frame: RawFrame, vendor: str) -> list[Event]:
    """The contract v1 events one request means. Raises ``ContractError`` on a model bug."""
    meta: Mapping[str, str] = frame.meta
    unit = unit_of(frame.address)
    session = meta.get("session", "")
    kind_of = nature(mrq)
    parts: tuple[str, ...] = (session, mrq.mty)
    if kind_of is Nature.UPDATE:
        parts += (_digest(mrq),)
    own_alarm = alarm_id(unit, mrq.ref, session)
    common: dict[str, Any] = {
        "tenant": frame.tenant, "time": frame.received,
        "source": {"adapter": ADAPTER, "protocol": PROTOCOL, "ref": mrq.ref},
        "device": {"id": device_id(ADAPTER, unit), "kind": DeviceKind.SOCIAL_ALARM,
                   "vendor": vendor, "serial": mrq.cid},
        "id_parts": parts,
    }
    location = _location(mrq)

    def alarm(kind: AlarmKind) -> Event:
        return make_event("alarm.raised", **common, alarm=own_alarm, location=location,
                          priority=c.alarm_priority(kind, mrq.pri),
                          data={"kind": kind, "text": _text(mrq), "code": _code(mrq)})

    def fault(kind: str, active: bool) -> Event:
        return make_event("device.fault", **common, data={
            "kind": kind, "active": active, "code": _code(mrq), "text": _text(mrq)})

    if kind_of is Nature.HEARTBEAT:
        interval = meta.get("heartbeat_s")
        return [make_event("device.heartbeat", **common,
                           data={"interval_s": int(interval) if interval else None})]
    if kind_of is Nature.ABORT:
        return [make_event("alarm.updated", **common, alarm=own_alarm, data={
            "text": "the unit aborted the SCAIP session (RE): it stopped waiting for an answer "
                    "and took its alternative action", "code": "scaip:RE"})]
    if kind_of is Nature.UPDATE:
        point = location.get("point") if location else None
        return [make_event("alarm.updated", **common, alarm=own_alarm, location=location,
                           data={"text": _text(mrq, "update" if mrq.stc is None else None),
                                 "code": f"ico:{mrq.ico:03d}" if mrq.ico is not None
                                 else _code(mrq), "position": point})]
    stc = mrq.stc
    target = meta.get("open_alarm") or own_alarm
    if kind_of is Nature.CANCEL:
        if stc == c.CHECKOUT_STATUS:
            return [make_event("alarm.updated", **common, alarm=target, data={
                "text": _text(mrq, "check-out: staff completed the intervention"),
                "code": _code(mrq)})]
        return [make_event("alarm.cancelled", **common, alarm=target, data={
            "reason": c.CANCEL_STATUS[stc or 0],
            "by": {"kind": "device", "id": device_id(ADAPTER, unit)}})]
    if kind_of is Nature.TECHNICAL:
        kind = _TECHNICAL[stc or 0]
        events = [alarm(kind)]
        if stc in c.BATTERY_LOW:
            events.append(make_event("device.battery", **common, data={"low": True}))
        elif stc == c.MAINS_LOST:
            events.append(fault("mains_lost", True))
        elif stc in c.LINK_LOST:
            events.append(fault("link_lost", True))
        else:
            events.append(fault("hardware", True))
        return events
    if kind_of is Nature.STATUS:
        if stc in c.BATTERY_OK:
            return [make_event("device.battery", **common, data={"low": False})]
        if stc == c.MAINS_RESTORED:
            return [fault("mains_lost", False)]
        if stc in c.LINK_RESTORED:
            return [fault("link_lost", False)]
        if stc in c.HARDWARE_RESTORED:
            return [fault("hardware", False)]
        if stc == c.TAMPER:
            return [make_event("device.tamper", **common, data={"active": True})]
        return [make_event("device.heartbeat", **common, data={})]
    return [alarm(c.alarm_kind(mrq.dty, stc))]
