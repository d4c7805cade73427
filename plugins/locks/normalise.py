"""One mapping from "what happened at a door" to contract events, for every lock vendor.

Each adapter translates its vendor's words into a :class:`DoorHappening` and
calls :func:`events_for`; that is what makes a door from one vendor and a door
from another produce identical events for the same real-world happening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gateway import Actor, ActorKind, DeviceKind, Event, device_id, make_event

from .const import LINK_TRANSPORT, LOW_BATTERY_PCT

What = Literal["unlocked", "locked", "denied", "jammed", "battery", "tamper"]

METHODS = ("app", "code", "key", "remote", "auto", "manual")

DENY_REASONS: dict[str, str] = {
    "wrong_code": "wrong code entered at the keypad",
    "key_not_valid": "the key or phone credential is not valid at this time",
    "key_revoked": "the key has been revoked",
    "lock_offline": "the lock does not answer its hub",
    "lock_jammed": "the bolt is jammed",
    "privacy_mode": "the resident has set the lock to privacy mode",
}
"""Vendor-independent denial codes -> the reason stored in ``lock.denied``."""


@dataclass(frozen=True, slots=True)
class DoorHappening:
    what: What
    time: datetime
    method: str | None = None  # one of METHODS
    user: str | None = None  # staff id the vendor attributes it to (our requested_by)
    deny_code: str | None = None  # key of DENY_REASONS, or None with deny_text
    deny_text: str | None = None
    battery_pct: int | None = None
    battery_low: bool | None = None
    tamper: bool | None = None


def events_for(h: DoorHappening, *, tenant: str, device: dict[str, Any],
               source: dict[str, Any]) -> list[Event]:
    """The contract events for one happening at one door."""
    common: dict[str, Any] = {"tenant": tenant, "time": h.time, "source": source,
                              "device": device}
    by = Actor(kind=ActorKind.STAFF, id=h.user) if h.user else None
    if h.what in ("unlocked", "locked"):
        return [make_event(f"lock.{h.what}", **common, data={"by": by, "method": h.method})]
    if h.what == "denied":
        reason = DENY_REASONS.get(h.deny_code or "") or h.deny_text or "refused by the lock"
        return [make_event("lock.denied", **common, data={"by": by, "reason": reason[:500]})]
    if h.what == "jammed":
        return [make_event("lock.jammed", **common, data={})]
    if h.what == "battery":
        low = h.battery_low if h.battery_low is not None else (
            h.battery_pct is not None and h.battery_pct <= LOW_BATTERY_PCT)
        return [make_event("device.battery", **common,
                           data={"level_pct": h.battery_pct, "low": bool(low)})]
    if h.what == "tamper":
        return [make_event("device.tamper", **common, data={"active": bool(h.tamper)})]
    raise ValueError(f"unknown happening {h.what!r}")


def link_events(adapter: str, address: str, state: str, reason: str, since: datetime,
                tenant: str, protocol: str, vendor: str) -> list[Event]:
    """``device.offline`` / ``device.online`` for the adapter's link to its vendor.

    The link is a device of its own (``<adapter>:<address>``, kind ``other``), so a
    lost vendor cloud or bridge raises Navet's technical link-lost alarm and shows
    in the device list with its last contact, like any silent device.
    """
    device = {"id": device_id(adapter, address), "kind": DeviceKind.OTHER, "vendor": vendor,
              "model": "vendor link"}
    source = {"adapter": adapter, "protocol": protocol,
              "ref": f"{LINK_TRANSPORT}:{state}:{since.isoformat()}"}
    if state == "down":
        return [make_event("device.offline", tenant=tenant, time=since, source=source,
                           device=device, data={"reason": reason[:200]})]
    return [make_event("device.online", tenant=tenant, time=since, source=source,
                       device=device, data={})]
