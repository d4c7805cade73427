"""What an adapter's ``execute`` receives and returns (the command path's contract).

The gateway builds a :class:`Command` only after the policy allowed it and the
decision was audited (:mod:`gateway.core.commands`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import Actor


@dataclass(frozen=True, slots=True)
class Command:
    """One command for one device, as an adapter's ``execute`` receives it.

    Only ever built by the gateway after the policy allowed it and the
    decision was audited. ``address`` is the device's address at the vendor
    (what the adapter put after ``<adapter>:`` in the device id); ``id`` is
    unique per request: pass it to the vendor as the command's reference, so
    its report of the result can be tied back (and a retried request is not
    executed twice by a vendor that deduplicates on it).
    """

    id: str
    name: str  # e.g. "lock.unlock", "lock.lock"
    tenant: str
    device: str
    address: str
    requested_by: Actor
    issued: datetime
    resident: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What an adapter's ``execute`` returns once the vendor has answered.

    ``accepted`` False means the vendor or device refused (lock offline,
    jammed, no such lock) and ``reason`` says why; an unreachable vendor is not
    a refusal: ``execute`` raises :class:`gateway.TransportError` for that,
    after its own retries. ``vendor_ref`` is the vendor's id for the command.
    """

    accepted: bool
    reason: str = ""
    vendor_ref: str | None = None
