"""What every policy decides with, and what it answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..alarms import AlarmService
from ..care import Tenant
from ..directory import DeviceEntry


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy's answer.

    ``code`` is machine-readable (``visit``, ``alarm``, ``unknown_staff``,
    ``no_visit_now`` ...); ``reason`` says the same to a person; ``basis`` holds
    what the decision rests on (plan and visit window, alarm id) for the audit log.
    """

    allowed: bool
    code: str
    reason: str
    basis: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def allow(cls, code: str, reason: str, **basis: Any) -> Decision:
        return cls(True, code, reason, basis)

    @classmethod
    def deny(cls, code: str, reason: str, **basis: Any) -> Decision:
        return cls(False, code, reason, basis)

    def as_dict(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "code": self.code, "reason": self.reason,
                "basis": dict(self.basis)}


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """Everything a policy may read for one decision; read before deciding, never after."""

    now: datetime
    tenant: Tenant | None
    device: DeviceEntry | None
    alarms: AlarmService
