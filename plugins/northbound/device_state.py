"""Device health as one retained MQTT message per device: online/offline, battery, last seen.

:class:`DeviceStateBook` folds a device's events into its current state. It
is pure (no I/O), so the MQTT sink decides when to publish and tests need no
broker. Folding is order-proof: each part of the state (status, battery,
faults, tamper) only moves forward in event time, so an event delivered again
or late (the outbox is at-least-once) never turns a newer state back.

After a restart the book is empty; the sink seeds it from the broker's own
retained messages (:meth:`DeviceStateBook.seed`), which only fill what the
book does not know yet, so a seed that arrives after newer events changes
nothing those events decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from gateway import Event

OFFLINE_ALARMS = frozenset({"technical.unit_silent", "technical.link_lost"})
"""Alarm kinds that mean Navet no longer hears the device."""


def state_topic(prefix: str, tenant: str, device: str) -> str:
    """``<prefix>/<tenant>/devices/<device>/state``; ``/``, ``+``, ``#`` in ids are %-encoded."""
    return f"{prefix}/{tenant}/devices/{quote(device, safe=':@-._~')}/state"


def _iso(t: datetime | None) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t else None


def _parse(t: Any) -> datetime | None:
    if not isinstance(t, str):
        return None
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class DeviceState:
    tenant: str
    device: str
    kind: str | None = None
    status: str = "unknown"  # online | offline | unknown
    status_since: datetime | None = None
    offline_reason: str | None = None
    battery_pct: int | None = None
    battery_low: bool | None = None
    battery_time: datetime | None = None
    faults: dict[str, bool] = field(default_factory=dict)
    fault_time: dict[str, datetime] = field(default_factory=dict)
    tamper: bool | None = None
    tamper_time: datetime | None = None
    last_seen: datetime | None = None
    updated: datetime | None = None  # event time of the newest event folded in

    def as_payload(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant, "device": self.device, "kind": self.kind,
            "status": self.status, "online": {"online": True, "offline": False}.get(self.status),
            "status_since": _iso(self.status_since), "offline_reason": self.offline_reason,
            "battery": None if self.battery_pct is None and self.battery_low is None else {
                "level_pct": self.battery_pct, "low": self.battery_low,
                "time": _iso(self.battery_time)},
            "faults": sorted(k for k, active in self.faults.items() if active),
            "tamper": self.tamper, "last_seen": _iso(self.last_seen),
            "updated": _iso(self.updated),
        }


class DeviceStateBook:
    def __init__(self) -> None:
        self.devices: dict[tuple[str, str], DeviceState] = {}

    def apply(self, event: Event) -> DeviceState | None:
        """Fold ``event`` in; return the state if the event is one that publishes it.

        ``device.*`` events publish; so do technical alarms that mean the unit
        went silent. Every other event from the device only moves ``last_seen``.
        """
        if event.device is None:
            return None
        key = (event.tenant, event.device.id)
        st = self.devices.get(key)
        if st is None:
            st = self.devices[key] = DeviceState(event.tenant, event.device.id)
        st.kind = str(event.device.kind)
        at = event.time
        data: Any = event.data
        from_device = event.source.adapter != "navet"
        if from_device and (st.last_seen is None or at > st.last_seen):
            st.last_seen = at
        kind = getattr(data, "kind", None)
        silent = event.type == "alarm.raised" and str(kind) in OFFLINE_ALARMS
        if not event.type.startswith("device.") and not silent:
            return None
        if st.updated is None or at > st.updated:
            st.updated = at
        if event.type == "device.online" or (from_device and event.type != "device.offline"
                                             and st.status != "online"):
            self._status(st, "online", at, None)
        elif event.type == "device.offline":
            self._status(st, "offline", at, data.reason)
            seen = data.last_seen
            if seen is not None and (st.last_seen is None or seen > st.last_seen):
                st.last_seen = seen
        elif silent:
            self._status(st, "offline", at, f"alarm {kind}")
        if event.type == "device.battery" and (st.battery_time is None or at >= st.battery_time):
            st.battery_pct, st.battery_low, st.battery_time = data.level_pct, data.low, at
        elif event.type == "device.fault":
            name = str(data.kind)
            if name not in st.fault_time or at >= st.fault_time[name]:
                st.faults[name], st.fault_time[name] = bool(data.active), at
        elif event.type == "device.tamper" and (st.tamper_time is None or at >= st.tamper_time):
            st.tamper, st.tamper_time = bool(data.active), at
        return st

    @staticmethod
    def _status(st: DeviceState, status: str, at: datetime, reason: str | None) -> None:
        if st.status_since is not None and at < st.status_since:
            return  # an older event delivered late: the newer status stands
        if st.status != status or st.status_since is None:
            st.status_since = at
        st.status = status
        st.offline_reason = reason if status == "offline" else None

    def seed(self, payload: dict[str, Any]) -> DeviceState | None:
        """Fill what is unknown from a retained state message.

        Returns the state when it changed a device that events had already
        published (so the sink publishes the completed state), else None.
        """
        tenant, device = payload.get("tenant"), payload.get("device")
        if not isinstance(tenant, str) or not isinstance(device, str):
            return None
        key = (tenant, device)
        st = self.devices.get(key)
        known = st is not None  # only then was something published without the seed
        if st is None:
            st = self.devices[key] = DeviceState(tenant, device)
        changed = False
        if st.kind is None and isinstance(payload.get("kind"), str):
            st.kind, changed = payload["kind"], True
        if st.status_since is None and payload.get("status") in ("online", "offline"):
            st.status, st.status_since = payload["status"], _parse(payload.get("status_since"))
            st.offline_reason = payload.get("offline_reason")
            changed = True
        battery = payload.get("battery")
        if st.battery_time is None and isinstance(battery, dict):
            st.battery_pct, st.battery_low = battery.get("level_pct"), battery.get("low")
            st.battery_time = _parse(battery.get("time"))
            changed = True
        faults = payload.get("faults")
        if not st.fault_time and not st.faults and isinstance(faults, list) and faults:
            st.faults = {str(f): True for f in faults}
            changed = True
        if st.tamper_time is None and st.tamper is None and isinstance(payload.get("tamper"),
                                                                        bool):
            st.tamper, changed = payload["tamper"], True
        seen = _parse(payload.get("last_seen"))
        if seen is not None and (st.last_seen is None or seen > st.last_seen):
            st.last_seen, changed = seen, True
        updated = _parse(payload.get("updated"))
        if updated is not None and (st.updated is None or updated > st.updated):
            st.updated = updated
        return st if changed and known else None
