"""The events both camera vendors normalise to, built in one place so they cannot drift.

A vendor adapter parses its own wire format and calls these; the same night
seen through either vendor gives the same types, times, sessions, durations
and reasons (only ``device``, ``source`` and the ids differ).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from gateway import Actor, ActorKind, DeviceKind, Event, make_event

from .const import END_REASONS

_TOKEN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

FAULT_KINDS = {"mains_lost", "link_lost", "hardware", "other"}


class Common:
    """Envelope parts shared by every event of one frame."""

    def __init__(self, tenant: str, time: datetime, device: dict[str, Any],
                 source: dict[str, Any]) -> None:
        self.kw: dict[str, Any] = {"tenant": tenant, "time": time, "device": device,
                                   "source": source}


def camera(adapter_device_id: str, vendor: str, serial: str) -> dict[str, Any]:
    return {"id": adapter_device_id, "kind": DeviceKind.CAMERA, "vendor": vendor,
            "serial": serial}


def staff(viewer: str) -> Actor:
    return Actor(kind=ActorKind.STAFF, id=viewer)


def started(c: Common, *, session: str, viewer: str, max_s: int | None) -> Event:
    expires = c.kw["time"] + timedelta(seconds=max_s) if max_s else None
    return make_event("supervision.started", **c.kw,
                      data={"session": session, "by": staff(viewer), "expires": expires})


def ended(c: Common, *, session: str, duration_s: float, reason: str) -> Event:
    return make_event("supervision.ended", **c.kw,
                      data={"session": session, "duration_s": max(0, round(duration_s)),
                            "reason": reason})


def privacy(c: Common, *, state: str, session: str | None) -> Event:
    return make_event("camera.privacy", **c.kw,
                      data={"state": state, "session": session if state == "live" else None})


def heartbeat(c: Common, *, interval_s: int | None) -> Event:
    return make_event("device.heartbeat", **c.kw, data={"interval_s": interval_s})


def fault(c: Common, *, kind: str, active: bool, code: str | None, text: str | None) -> Event:
    return make_event("device.fault", **c.kw,
                      data={"kind": kind if kind in FAULT_KINDS else "other", "active": active,
                            "code": code, "text": text})


def end_reason(client_reason: Any, vendor_reason: str, mapping: dict[str, str]) -> str:
    """The normalised end reason: the one Navet gave with its stop, else the vendor's, mapped.

    Raises ``ValueError`` for a vendor reason the mapping does not know.
    """
    if isinstance(client_reason, str) and _TOKEN.match(client_reason):
        return client_reason
    if vendor_reason not in mapping:
        raise ValueError(f"end reason {vendor_reason!r} is not one of {', '.join(mapping)}")
    reason = mapping[vendor_reason]
    assert reason in END_REASONS
    return reason
