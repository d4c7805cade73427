"""Care configuration: tenants, residents, devices and plans.

Loaded from YAML/JSON files (the demo municipality is one) and through the
admin API; both go through :func:`apply_care_config`, so a file and an API
call can never disagree about what is valid.
"""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import ConfigError

from .directory import DeviceDirectory, DeviceEntry, device_id
from .model import DeviceKind, Location, Priority
from .model.common import Pseudonym, TenantId
from .store import SQLiteStore

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resident(_Model):
    id: Pseudonym
    label: str = Field(default="", max_length=120, description="Non-identifying, e.g. 'Lgh 1102'.")
    home: Location | None = None


class Device(_Model):
    adapter: str
    address: str = Field(description="The device's address at its vendor (topic name, serial).")
    kind: DeviceKind
    resident: Pseudonym | None = None
    heartbeat_s: int | None = Field(default=None, ge=1, description="Expected heartbeat interval.")
    heartbeat_tolerance_s: int | None = Field(
        default=None, ge=1,
        description="Silence after which the unit is reported silent; default: the tenant's "
        "alarms.heartbeat_tolerance x the interval.",
    )
    vendor: str | None = None
    model: str | None = None
    location: str | None = Field(default=None, max_length=120, description="e.g. 'Bedroom'.")

    @property
    def id(self) -> str:
        return device_id(self.adapter, self.address)


class Visit(_Model):
    days: list[Weekday]
    start: time
    end: time
    team: str | None = None
    staff: str | None = None
    note: str | None = Field(default=None, max_length=200)


class Plan(_Model):
    id: str
    resident: Pseudonym
    visits: list[Visit] = Field(default_factory=list)


class AlarmSettings(_Model):
    """How a tenant's alarms escalate and how long its devices may stay silent."""

    receivers: list[str] = Field(
        default_factory=list,
        description="Receiver chain: the first gets every alarm; each next one in turn when "
        "the alarm is not acknowledged within ack_deadline_s.",
    )
    ack_deadline_s: int = Field(default=120, ge=1, description="Time to acknowledge per level.")
    escalate: list[Priority] = Field(
        default_factory=lambda: [Priority.CRITICAL, Priority.HIGH, Priority.NORMAL],
        description="Priorities that escalate; an alarm without priority counts as normal.",
    )
    heartbeat_tolerance: float = Field(
        default=2.5, ge=1.0, description="A unit is silent after this many heartbeat intervals."
    )


class Tenant(_Model):
    id: TenantId
    name: str
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    residents: list[Resident] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)


class CareConfig(_Model):
    tenants: list[Tenant]


def load_care_config(path: str | Path) -> CareConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        raw: Any = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read care configuration {file}: {err}") from err
    try:
        return CareConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"care configuration {file} is invalid:\n{err}") from err


async def apply_care_config(
    config: CareConfig, store: SQLiteStore, directory: DeviceDirectory
) -> dict[str, int]:
    """Upsert everything in ``config``. Returns counts of what was written."""
    counts = {"tenants": 0, "residents": 0, "devices": 0, "plans": 0}
    for tenant in config.tenants:
        residents = {r.id for r in tenant.residents}
        for dev in tenant.devices:
            if dev.resident and dev.resident not in residents:
                raise ConfigError(
                    f"tenant {tenant.id}: device {dev.id} names resident {dev.resident}, "
                    "who is not in the tenant's residents"
                )
        for plan in tenant.plans:
            if plan.resident not in residents:
                raise ConfigError(f"tenant {tenant.id}: plan {plan.id} names unknown resident")
        await store.put_row(
            "tenants", {"id": tenant.id},
            {"name": tenant.name, "body": json.dumps(
                {"name": tenant.name, "alarms": tenant.alarms.model_dump(mode="json")})},
        )
        counts["tenants"] += 1
        for res in tenant.residents:
            await store.put_row(
                "residents", {"tenant": tenant.id, "id": res.id},
                {"body": res.model_dump_json(exclude={"id"})},
            )
            counts["residents"] += 1
        for dev in tenant.devices:
            body = dev.model_dump(mode="json", exclude={"adapter", "address", "kind", "resident",
                                                        "heartbeat_s"})
            await store.put_row(
                "devices", {"id": dev.id},
                {"tenant": tenant.id, "adapter": dev.adapter, "address": dev.address,
                 "kind": str(dev.kind), "resident": dev.resident, "heartbeat_s": dev.heartbeat_s,
                 "body": json.dumps(body)},
            )
            directory.put(DeviceEntry(
                id=dev.id, tenant=tenant.id, adapter=dev.adapter, address=dev.address,
                kind=str(dev.kind), resident=dev.resident, heartbeat_s=dev.heartbeat_s,
                extra=body,
            ))
            counts["devices"] += 1
        for plan in tenant.plans:
            await store.put_row(
                "plans", {"tenant": tenant.id, "id": plan.id},
                {"resident": plan.resident, "body": plan.model_dump_json()},
            )
            counts["plans"] += 1
    return counts
