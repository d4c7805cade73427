"""What both dispenser adapters share: the normalised vocabulary and pure helpers.

Two vendors describe the same happening in different words (``DOSE_TAKEN`` over
REST, ``"ev": "taken"`` over MQTT; a jam is ``E-JAM`` at one and code ``20`` at
the other). Each adapter maps its own words onto the names here, and the
events are built by the functions here, so the same real-world happening
comes out as the same normalised event whichever vendor reported it. Only the
vendor-specific identifiers differ: event id, ``source``, the device identity
and the vendor's own fault ``code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from gateway import ContractError, DeviceKind, Event, PayloadError, make_event

DOSE_TYPES: Final = {
    "due": "medication.dose_due",
    "dispensed": "medication.dose_dispensed",
    "taken": "medication.dose_taken",
    "missed": "medication.dose_missed",
}
"""Normalised dose step -> event type."""

FAULTS: Final[dict[str, tuple[str, str]]] = {
    "jam": ("hardware", "dose mechanism jammed"),
    "mains": ("mains_lost", "mains power lost"),
    "network": ("link_lost", "dispenser lost its network connection"),
    "hatch": ("other", "service hatch open"),
    "empty": ("other", "dispenser is empty"),
    "other": ("other", "unknown fault"),
}
"""Normalised fault -> (``device.fault`` kind, the text Navet shows for it)."""

LOW_BATTERY_PCT: Final = 20
"""At or below this level a battery counts as low when the vendor does not say."""

MAX_LABEL: Final = 200


def dose_event(
    step: str, *, adapter: str, protocol: str, tenant: str, time: datetime,
    device: Mapping[str, Any], ref: str, dose: str, scheduled: datetime, label: str | None,
) -> Event:
    """A ``medication.dose_*`` event for step ``due``/``dispensed``/``taken``/``missed``."""
    return make_event(
        DOSE_TYPES[step], tenant=tenant, time=time, device=device,
        source={"adapter": adapter, "protocol": protocol, "ref": ref},
        data={"dose": dose, "scheduled": scheduled,
              "medication": label[:MAX_LABEL] if label else None},
    )


def refill_event(*, adapter: str, protocol: str, tenant: str, time: datetime,
                 device: Mapping[str, Any], ref: str, remaining: int) -> Event:
    return make_event(
        "medication.refill_needed", tenant=tenant, time=time, device=device,
        source={"adapter": adapter, "protocol": protocol, "ref": ref},
        data={"remaining_doses": remaining},
    )


def fault_event(*, adapter: str, protocol: str, tenant: str, time: datetime,
                device: Mapping[str, Any], ref: str, fault: str, active: bool,
                code: str, vendor_text: str | None = None) -> Event:
    """``device.fault`` for normalised ``fault``; ``code`` is the vendor's own code.

    A fault Navet knows gets Navet's text (the same whichever vendor); an unknown one
    keeps the vendor's description, when it sent one, so an operator can still act.
    """
    kind, text = FAULTS.get(fault, FAULTS["other"])
    if fault not in FAULTS or fault == "other":
        text = (vendor_text or text)[:500]
    return make_event(
        "device.fault", tenant=tenant, time=time, device=device,
        source={"adapter": adapter, "protocol": protocol, "ref": ref},
        data={"kind": kind, "active": active, "code": code[:64], "text": text},
    )


def battery_event(*, adapter: str, protocol: str, tenant: str, time: datetime,
                  device: Mapping[str, Any], ref: str, level: int | None,
                  low: bool | None) -> Event:
    if low is None:
        low = level is not None and level <= LOW_BATTERY_PCT
    return make_event(
        "device.battery", tenant=tenant, time=time, device=device,
        source={"adapter": adapter, "protocol": protocol, "ref": ref},
        data={"level_pct": level, "low": low},
    )


def heartbeat_event(*, adapter: str, protocol: str, tenant: str, time: datetime,
                    device: Mapping[str, Any], ref: str, interval: int | None) -> Event:
    return make_event(
        "device.heartbeat", tenant=tenant, time=time, device=device,
        source={"adapter": adapter, "protocol": protocol, "ref": ref},
        data={"interval_s": interval},
    )


def dispenser(adapter: str, serial: str, vendor: str, model: str | None) -> dict[str, Any]:
    return {"id": f"{adapter}:{serial}", "kind": DeviceKind.MEDICATION_DISPENSER,
            "vendor": vendor, "model": model, "serial": serial}


# --------------------------------------------------------------------------- field readers
# Each raises PayloadError naming the field, so an operator reading the dead letter
# (and the vendor reading our 422) knows exactly what to fix.


class Fields:
    """Typed reads from one JSON object, with errors naming adapter, device and field."""

    def __init__(self, body: Any, *, adapter: str, device: str | None, where: str) -> None:
        if not isinstance(body, dict):
            raise PayloadError(f"{where} must be a JSON object, got {type(body).__name__}",
                               adapter=adapter, device=device)
        self.body = body
        self.adapter = adapter
        self.device = device
        self.where = where

    def fail(self, reason: str) -> PayloadError:
        return PayloadError(f"{self.where}: {reason}", adapter=self.adapter, device=self.device)

    def text(self, key: str, *, required: bool = True, max_len: int = 128) -> str | None:
        value = self.body.get(key)
        if value is None:
            if required:
                raise self.fail(f"{key} is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key} must be non-empty text, got {value!r}")
        if len(value) > max_len:
            raise self.fail(f"{key} is longer than {max_len} characters")
        return value

    def integer(self, key: str, *, required: bool = True, lo: int = 0,
                hi: int = 2**31) -> int | None:
        value = self.body.get(key)
        if value is None:
            if required:
                raise self.fail(f"{key} is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{key} must be a whole number, got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(f"{key} {value} is outside {lo}..{hi}")
        return value

    def boolean(self, key: str, *, required: bool = True) -> bool | None:
        value = self.body.get(key)
        if value is None:
            if required:
                raise self.fail(f"{key} is missing")
            return None
        if not isinstance(value, bool):
            raise self.fail(f"{key} must be true or false, got {value!r}")
        return value

    def iso_time(self, key: str) -> datetime:
        value = self.text(key, max_len=40)
        assert value is not None
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(f"{key} {value!r} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            raise self.fail(f"{key} {value!r} has no UTC offset")
        return when.astimezone(UTC)

    def epoch(self, key: str) -> datetime:
        value = self.integer(key, lo=946_684_800, hi=4_102_444_800)  # 2000 .. 2100
        assert value is not None
        return datetime.fromtimestamp(value, UTC)

    def obj(self, key: str) -> Fields:
        return Fields(self.body.get(key), adapter=self.adapter, device=self.device,
                      where=f"{self.where}.{key}")


def contract_guard(adapter: str, device: str | None, err: ContractError) -> PayloadError:
    """A value that passed our field checks but not the contract is still the sender's fault."""
    return PayloadError(str(err), adapter=adapter, device=device)
