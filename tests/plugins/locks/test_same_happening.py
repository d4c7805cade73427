"""Both vendors, driven through the same morning, give the same normalised events."""

from __future__ import annotations

from typing import Any

from gateway.core.commands import CommandStatus
from gateway.testing import wait_until

from .conftest import TENANT, Rig

SCENARIO_TYPES = ["lock.", "device.battery", "device.tamper"]


def normalised(events: list[Any]) -> list[dict[str, Any]]:
    """Events minus what differs by vendor: ids, source, device id/vendor/model, times."""
    out = []
    for ev in events:
        out.append({"type": ev.type, "tenant": ev.tenant, "device_kind": str(ev.device.kind),
                    "data": ev.data.model_dump(mode="json")})
    return out


async def test_both_vendors_tell_the_same_story(rig: Rig) -> None:
    gw = rig.gw
    doors = {"portvakt": "portvakt:PV-1", "lasbro": "lasbro:LB-1"}
    for vendor, door in doors.items():
        # staff opens and later locks the door through Navet
        out = await gw.commands.execute(TENANT, "s-anna", door, "lock.unlock")
        assert out.status == CommandStatus.SENT, (vendor, out.reason)
        await wait_until(lambda d=door: any(e.device.id == d for e in rig.events("lock.unlocked")),
                         f"{vendor} reports the door unlocked", timeout=15)
        out = await gw.commands.execute(TENANT, "s-anna", door, "lock.lock")
        assert out.status == CommandStatus.SENT, (vendor, out.reason)
        await wait_until(lambda d=door: any(e.device.id == d for e in rig.events("lock.locked")),
                         f"{vendor} reports the door locked", timeout=15)
    # then, at each door: a wrong code, a low battery, the cover opened, the bolt jams
    rig.cloud.happen("PV-1", "access.denied", actor={"type": "keypad"}, reason="invalid_code")
    rig.cloud.happen("PV-1", "lock.battery", battery={"percent": 15, "low": True})
    rig.cloud.happen("PV-1", "lock.tamper", tamper={"active": True})
    rig.cloud.happen("PV-1", "lock.jammed")
    await rig.bridge.happen("LB-1", "deny", src="pin", why="bad_pin")
    await rig.bridge.happen("LB-1", "batt", lvl=15)
    await rig.bridge.happen("LB-1", "tamper", on=True)
    await rig.bridge.happen("LB-1", "jam")
    await wait_until(lambda: len(rig.events(*SCENARIO_TYPES)) == 12, "12 events stored", timeout=15)

    by_door: dict[str, list[Any]] = {}
    for ev in rig.events(*SCENARIO_TYPES):
        by_door.setdefault(ev.device.id, []).append(ev)
    portvakt, lasbro = by_door["portvakt:PV-1"], by_door["lasbro:LB-1"]
    assert normalised(portvakt) == normalised(lasbro)
    assert [e.type for e in portvakt] == ["lock.unlocked", "lock.locked", "lock.denied",
                                          "device.battery", "device.tamper", "lock.jammed"]
    unlocked = portvakt[0]
    assert unlocked.data.by.id == "s-anna" and unlocked.data.method == "remote"
    assert portvakt[2].data.reason == "wrong code entered at the keypad"
    assert portvakt[3].data.model_dump() == {"level_pct": 15, "low": True, "voltage_mv": None}
    # the pipeline placed each door's events on its resident
    assert {e.resident for e in portvakt} == {"r-1"}
    assert {e.resident for e in lasbro} == {"r-2"}
    # and the vendors were told who asked, with Navet's command id as their reference
    assert rig.cloud.commands[0]["requested_by"] == "s-anna"
    assert rig.bridge.commands[0]["uid"] == "s-anna"
    # the jammed lock refuses the next command, and Navet stores that as lock.denied
    for door in ("portvakt:PV-1", "lasbro:LB-1"):
        out = await gw.commands.execute(TENANT, "s-anna", door, "lock.unlock")
        assert out.status == CommandStatus.REFUSED and "jammed" in out.reason, out.reason
    denied = [e for e in rig.events("lock.denied") if e.source.adapter == "navet"]
    assert len(denied) == 2
    assert (await gw.audit.verify()).ok
