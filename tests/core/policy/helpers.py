"""A tenant with home-care staff, visit plans and door locks, and a lock adapter double.

Times: the tenant is in Europe/Stockholm; 2026-01-05 is a Monday and Stockholm is
UTC+1 in January, so the 07:30-08:00 visit is 06:30-07:00 UTC.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import yaml

from gateway import (
    AdapterBase,
    Command,
    CommandResult,
    DeviceKind,
    FakeClock,
    Manifest,
    TransportError,
    hookimpl,
)
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker

TENANT = "vasteras"
MONDAY_0645_UTC = datetime(2026, 1, 5, 6, 45, tzinfo=UTC)  # 07:45 local: inside the visit
DOOR_1 = "fakelock:door-1001"
DOOR_2 = "fakelock:door-1002"
SENSOR = "zigbee2mqtt:r1001_bed"

CARE: dict[str, Any] = {
    "tenants": [{
        "id": TENANT,
        "name": "Västerås stad",
        "timezone": "Europe/Stockholm",
        "locks": {"grace_before_s": 600, "grace_after_s": 900},
        "residents": [{"id": "r-1001"}, {"id": "r-1002"}, {"id": "r-1003"}],
        "devices": [
            {"adapter": "fakelock", "address": "door-1001", "kind": "door_lock",
             "resident": "r-1001"},
            {"adapter": "fakelock", "address": "door-1002", "kind": "door_lock",
             "resident": "r-1002"},
            {"adapter": "fakelock", "address": "door-1003", "kind": "door_lock",
             "resident": "r-1003"},
            {"adapter": "fakelock", "address": "spare", "kind": "door_lock"},
            {"adapter": "zigbee2mqtt", "address": "r1001_bed", "kind": "passive_sensor",
             "resident": "r-1001"},
            {"adapter": "scaip", "address": "unit-1002", "kind": "social_alarm",
             "resident": "r-1002"},
        ],
        "plans": [
            {"id": "plan-1001", "resident": "r-1001", "visits": [
                {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:30", "end": "08:00",
                 "team": "norr"},
                {"days": ["mon"], "start": "23:50", "end": "00:20", "staff": "s-anna"},
            ]},
            {"id": "plan-1002", "resident": "r-1002", "visits": [
                {"days": ["mon", "wed"], "start": "10:00", "end": "10:45", "staff": "s-bo"},
            ]},
        ],
        "staff": [
            {"id": "s-anna", "roles": ["home_care"], "teams": ["norr"]},
            {"id": "s-bo", "roles": ["home_care"], "teams": ["syd"]},
            {"id": "s-cleo", "roles": ["home_care"], "teams": ["syd"]},
        ],
    }],
}


class FakeLock(AdapterBase):
    """Records commands; answers what the test tells it to."""

    manifest: ClassVar[Manifest] = Manifest(
        name="fakelock", vendor="test", description="lock double",
        device_kinds=(DeviceKind.DOOR_LOCK,), transports=("test",), contract=">=1.0,<2",
        commands=("lock.unlock", "lock.lock"),
    )
    answer: ClassVar[str] = "accept"  # accept | refuse | down
    executed: ClassVar[list[Command]] = []

    async def execute(self, command: Command) -> CommandResult:
        type(self).executed.append(command)
        if self.answer == "refuse":
            return CommandResult(False, "lock is jammed", vendor_ref="v-9")
        if self.answer == "down":
            raise TransportError("vendor cloud unreachable after 3 attempts")
        return CommandResult(True, vendor_ref=f"v-{len(self.executed)}")


class FakeLockPlugin:
    @hookimpl
    def navet_register_adapters(self, registry: Any) -> None:
        registry.add(FakeLock)


async def lock_gateway(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Gateway]:
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump(CARE, allow_unicode=True), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
        adapters=[{"adapter": "fakelock", "tenant": TENANT}],
        db_synchronous="OFF",  # a fake-clock test commits at every step; no crash here
    )
    FakeLock.answer = "accept"
    FakeLock.executed = []
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"),
                 extra_plugins=[("fakelock", FakeLockPlugin())])
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()
