"""Pure decoding of Dosvakt push batches (and of Navet's own link-watchdog frames).

The wire format is in ``contracts/vendors/dosvakt.md``. A batch is all or
nothing: one unreadable event refuses the whole request with its index and
reason, so the vendor fixes it and nothing half-stored needs reconciling.
"""

from __future__ import annotations

import re
from typing import Any, Final

from gateway import ContractError, DeviceKind, Event, PayloadError, RawFrame, make_event

from ..common import (
    Fields,
    battery_event,
    contract_guard,
    dispenser,
    dose_event,
    fault_event,
    heartbeat_event,
    refill_event,
)
from ..const import DOSVAKT, DOSVAKT_PROTOCOL, DOSVAKT_VENDOR, WATCHDOG
from .models import MAX_BATCH

DOSE_STEPS: Final = {
    "DOSE_DUE": "due",
    "DOSE_DISPENSED": "dispensed",
    "DOSE_TAKEN": "taken",
    "DOSE_MISSED": "missed",
}
FAULT_CODES: Final = {
    "E-JAM": "jam",
    "E-POWER": "mains",
    "E-NET": "network",
    "E-HATCH": "hatch",
    "E-EMPTY": "empty",
}
TYPES: Final = (*DOSE_STEPS, "REFILL_NEEDED", "DEVICE_FAULT", "BATTERY", "DEVICE_CHECKIN",
                "ALIVE")
SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def link_device(frame: RawFrame) -> dict[str, Any]:
    """The push link of one adapter instance, supervised like a device."""
    instance = frame.instance or f"{DOSVAKT}-{frame.tenant}"
    return {"id": f"{DOSVAKT}:link-{instance}", "kind": DeviceKind.OTHER,
            "vendor": DOSVAKT_VENDOR, "model": "Dosvakt Cloud push link"}


def decode_batch(frame: RawFrame) -> list[Event]:
    if frame.transport == WATCHDOG:
        return decode_watchdog(frame)
    try:
        body = frame.json()
    except ValueError as err:
        raise PayloadError(f"body is not JSON: {err}", adapter=DOSVAKT) from err
    top = Fields(body, adapter=DOSVAKT, device=None, where="body")
    items = top.body.get("events")
    if not isinstance(items, list) or not items:
        raise top.fail("events must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise top.fail(f"{len(items)} events in one request; at most {MAX_BATCH}")
    out: list[Event] = []
    for i, item in enumerate(items):
        out.extend(_one(frame, item, f"events[{i}]"))
    return out


def _one(frame: RawFrame, item: Any, where: str) -> list[Event]:
    f = Fields(item, adapter=DOSVAKT, device=None, where=where)
    ref = f.text("eventId", max_len=64)
    kind = f.text("type", max_len=32)
    assert ref is not None and kind is not None
    if kind not in TYPES:
        raise f.fail(f"unknown type {kind!r} (known: {', '.join(TYPES)})")
    when = f.iso_time("occurredAt")
    common = {"adapter": DOSVAKT, "protocol": DOSVAKT_PROTOCOL, "tenant": frame.tenant,
              "time": when, "ref": ref}
    try:
        if kind == "ALIVE":
            interval = f.obj("alive").integer("intervalS", required=False, lo=10, hi=86_400) \
                if "alive" in f.body else None
            return [heartbeat_event(**common, device=link_device(frame), interval=interval)]

        dev = f.obj("device")
        serial = dev.text("serial", max_len=64)
        assert serial is not None
        if not SERIAL.match(serial):
            raise dev.fail(f"serial {serial!r} may hold only letters, digits, '.', '_', '-'")
        f.device = serial
        device = dispenser(DOSVAKT, serial, DOSVAKT_VENDOR, dev.text("model", required=False))

        if kind in DOSE_STEPS:
            d = f.obj("dose")
            d.device = serial
            pouch, label = d.text("pouchId"), d.text("label", required=False, max_len=200)
            assert pouch is not None
            return [dose_event(DOSE_STEPS[kind], **common, device=device, dose=pouch,
                               scheduled=d.iso_time("scheduledAt"), label=label)]
        if kind == "REFILL_NEEDED":
            left = f.obj("refill").integer("remainingDoses", hi=10_000)
            assert left is not None
            return [refill_event(**common, device=device, remaining=left)]
        if kind == "DEVICE_FAULT":
            fl = f.obj("fault")
            code = fl.text("code", max_len=64)
            active = fl.boolean("active")
            assert code is not None and active is not None
            return [fault_event(**common, device=device, fault=FAULT_CODES.get(code, "other"),
                                active=active, code=code,
                                vendor_text=fl.text("description", required=False,
                                                    max_len=500))]
        if kind == "BATTERY":
            b = f.obj("battery")
            level = b.integer("levelPct", required=False, hi=100)
            low = b.boolean("low", required=False)
            if level is None and low is None:
                raise b.fail("needs levelPct, low or both")
            return [battery_event(**common, device=device, level=level, low=low)]
        # DEVICE_CHECKIN: the dispenser checked in with the Dosvakt cloud
        interval = f.obj("checkin").integer("intervalS", required=False, lo=10, hi=86_400) \
            if "checkin" in f.body else None
        return [heartbeat_event(**common, device=device, interval=interval)]
    except ContractError as err:
        raise contract_guard(DOSVAKT, f.device, err) from err


def decode_watchdog(frame: RawFrame) -> list[Event]:
    """Navet's own verdict on the push link: ``device.offline`` or ``device.online``."""
    try:
        f = Fields(frame.json(), adapter=DOSVAKT, device="link", where="watchdog")
    except ValueError as err:
        raise PayloadError(f"watchdog frame is not JSON: {err}", adapter=DOSVAKT) from err
    state = f.text("link")
    last = f.iso_time("lastContact")
    at = f.iso_time("at")
    device = link_device(frame)
    source = {"adapter": DOSVAKT, "protocol": "navet", "ref": f"link@{last.isoformat()}"}
    if state == "down":
        interval = f.integer("intervalS")
        return [make_event(
            "device.offline", tenant=frame.tenant, time=at, device=device, source=source,
            data={"reason": f"no I'm-alive or push from the Dosvakt cloud within "
                            f"{interval} s", "last_seen": last})]
    if state == "up":
        return [make_event("device.online", tenant=frame.tenant, time=at, device=device,
                           source=source, data={"silent_s": f.integer("silentS")})]
    raise f.fail(f"link must be 'down' or 'up', got {state!r}")
