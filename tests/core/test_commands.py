"""The command path: policy -> audit -> adapter.execute -> outcome, and denials as events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.commands import CommandStatus, UnknownCommandError
from gateway.core.gateway import Gateway

from .policy.helpers import DOOR_1, MONDAY_0645_UTC, TENANT, FakeLock, lock_gateway


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_0645_UTC)


@pytest.fixture
async def gw(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Gateway]:
    async for g in lock_gateway(tmp_path, clock):
        yield g


def denials(gw: Gateway) -> list:
    return [s.event for s in gw.store.query_events(TENANT, types=["lock.denied"])]


async def test_an_allowed_unlock_is_audited_then_sent_to_the_adapter(gw: Gateway) -> None:
    out = await gw.commands.execute(TENANT, "s-anna", DOOR_1, "lock.unlock")
    assert out.status == CommandStatus.SENT and out.vendor_ref == "v-1"
    [cmd] = FakeLock.executed
    assert (cmd.name, cmd.device, cmd.address, cmd.resident) == (
        "lock.unlock", DOOR_1, "door-1001", "r-1001")
    assert cmd.requested_by.id == "s-anna" and cmd.id == out.command
    entries = list(reversed(await gw.audit.entries(TENANT)))
    assert [(e.action, e.decision, e.actor) for e in entries] == [
        ("lock.unlock", "allowed", "s-anna"), ("lock.unlock", "sent", "s-anna")]
    assert entries[0].detail["basis"]["plan"] == "plan-1001"  # why it was allowed
    assert entries[0].resident == "r-1001" and entries[0].device == DOOR_1
    assert denials(gw) == []


async def test_a_refused_unlock_never_reaches_the_adapter_and_is_an_event(
        gw: Gateway, clock: FakeClock) -> None:
    clock._now += timedelta(hours=3)  # 10:45 local: no visit for s-anna
    out = await gw.commands.execute(TENANT, "s-anna", DOOR_1, "lock.unlock")
    assert out.status == CommandStatus.DENIED and out.decision.code == "no_visit_now"
    assert FakeLock.executed == []
    [event] = denials(gw)
    assert event.id == out.event.id
    assert event.resident == "r-1001" and event.device.id == DOOR_1
    assert event.data.by.id == "s-anna" and "outside their planned visits" in event.data.reason
    assert event.source.adapter == "navet"
    [entry] = await gw.audit.entries(TENANT)
    assert (entry.decision, entry.detail["code"]) == ("denied", "no_visit_now")


async def test_wrong_staff_and_unknown_device_are_denied(gw: Gateway) -> None:
    out = await gw.commands.execute(TENANT, "s-bo", DOOR_1, "lock.unlock")
    assert (out.status, out.decision.code) == (CommandStatus.DENIED, "not_assigned")
    out = await gw.commands.execute(TENANT, "s-anna", "fakelock:elsewhere", "lock.unlock")
    assert (out.status, out.decision.code) == (CommandStatus.DENIED, "unknown_device")
    assert len(denials(gw)) == 2 and FakeLock.executed == []


async def test_another_tenants_door_does_not_exist_for_the_caller(gw: Gateway) -> None:
    out = await gw.commands.execute("sala", "s-anna", DOOR_1, "lock.unlock")
    assert out.status == CommandStatus.DENIED
    assert out.decision.code in ("unknown_tenant", "unknown_device")
    assert FakeLock.executed == []


async def test_a_vendor_refusal_is_audited_and_stored_as_lock_denied(gw: Gateway) -> None:
    FakeLock.answer = "refuse"
    out = await gw.commands.execute(TENANT, "s-anna", DOOR_1, "lock.unlock")
    assert out.status == CommandStatus.REFUSED and "jammed" in out.reason
    [event] = denials(gw)
    assert "refused by the lock vendor: lock is jammed" in event.data.reason
    assert [e.decision for e in reversed(await gw.audit.entries(TENANT))] == [
        "allowed", "refused"]


async def test_an_unreachable_vendor_is_a_failure_not_a_silent_loss(gw: Gateway) -> None:
    FakeLock.answer = "down"
    out = await gw.commands.execute(TENANT, "s-anna", DOOR_1, "lock.unlock")
    assert out.status == CommandStatus.FAILED and "unreachable" in out.reason
    assert [e.decision for e in reversed(await gw.audit.entries(TENANT))] == [
        "allowed", "failed"]
    [event] = denials(gw)
    assert event.data.reason.startswith("not delivered")


async def test_lock_goes_the_same_way(gw: Gateway) -> None:
    out = await gw.commands.execute(TENANT, "s-anna", DOOR_1, "lock.lock")
    assert out.status == CommandStatus.SENT
    assert FakeLock.executed[0].name == "lock.lock"


async def test_a_command_without_a_policy_is_refused(gw: Gateway) -> None:
    with pytest.raises(UnknownCommandError, match=r"lock\.unlock"):
        await gw.commands.execute(TENANT, "s-anna", DOOR_1, "lock.explode")


async def test_every_decision_keeps_the_chain_intact(gw: Gateway) -> None:
    for staff in ("s-anna", "s-bo", "s-nobody", "s-anna"):
        await gw.commands.execute(TENANT, staff, DOOR_1, "lock.unlock")
    result = await gw.audit.verify()
    assert result.ok and result.checked == 6  # 2 sent (2 entries each) + 2 denied
