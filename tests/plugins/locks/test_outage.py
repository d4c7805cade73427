"""A vendor cloud outage: commands retry then fail loudly, the link is reported down and
up again, and events the cloud kept meanwhile all arrive afterwards."""

from __future__ import annotations

from gateway.core.commands import CommandStatus
from gateway.testing import wait_until

from .conftest import TENANT, Rig


def link(rig: Rig, event_type: str, device: str) -> list[object]:
    return [e for e in rig.events(event_type) if e.device.id == device]


async def test_cloud_outage_retries_reports_the_link_and_loses_nothing(rig: Rig) -> None:
    gw, cloud = rig.gw, rig.cloud
    adapter = rig.portvakt()
    rig.cloud.outage = True
    attempts_before = adapter.failures
    out = await gw.commands.execute(TENANT, "s-anna", "portvakt:PV-1", "lock.unlock")
    assert out.status == CommandStatus.FAILED
    assert "not delivered after" in out.reason and "HTTP 503" in out.reason
    assert adapter.failures - attempts_before >= 2  # it retried before giving up
    assert cloud.commands == []  # nothing reached the lock
    await wait_until(lambda: link(rig, "device.offline", "portvakt:cloud"),
                     "link reported down", timeout=15)
    [offline] = link(rig, "device.offline", "portvakt:cloud")
    assert offline.device.id == "portvakt:cloud" and "HTTP 503" in offline.data.reason
    assert adapter.health()["link"] == "down"
    assert gw.adapter_health()["portvakt-vasteras"]["link"] == "down"  # what operators see
    # the link-lost technical alarm is Navet's own rule reacting to it
    await wait_until(lambda: any(e.data.kind == "technical.link_lost"
                                 for e in rig.events("alarm.raised")), "link-lost alarm",
                     timeout=15)
    # the lock keeps living during the outage; the cloud keeps its events
    cloud.happen("PV-1", "access.unlocked", actor={"type": "key"})
    cloud.happen("PV-1", "access.locked", actor={"type": "thumb_turn"})
    cloud.outage = False
    await wait_until(lambda: link(rig, "device.online", "portvakt:cloud"),
                     "link reported up again", timeout=15)
    await wait_until(lambda: len(rig.events("lock.unlocked", "lock.locked")) == 2,
                     "both events from the outage stored", timeout=15)
    assert adapter.health()["link"] == "up"
    # webhook push and feed catch-up both delivered them; ids made the second a no-op
    ids = [e.source.ref for e in rig.events("lock.unlocked", "lock.locked")]
    assert len(ids) == len(set(ids)) == 2
    out = await gw.commands.execute(TENANT, "s-anna", "portvakt:PV-1", "lock.unlock")
    assert out.status == CommandStatus.SENT
    entries = [e.decision for e in reversed(await gw.audit.entries(TENANT))]
    assert entries == ["allowed", "failed", "allowed", "sent"]


async def test_an_offline_bridge_fails_a_command_at_once(rig: Rig) -> None:
    await rig.bridge.offline()
    await wait_until(lambda: link(rig, "device.offline", "lasbro:bridge-hub1"),
                     "bridge offline stored", timeout=15)
    [offline] = link(rig, "device.offline", "lasbro:bridge-hub1")
    assert offline.device.id == "lasbro:bridge-hub1"
    out = await rig.gw.commands.execute(TENANT, "s-anna", "lasbro:LB-1", "lock.unlock")
    assert out.status == CommandStatus.FAILED and "offline" in out.reason
    online = len(link(rig, "device.online", "lasbro:bridge-hub1"))  # the start, usually
    await rig.bridge.status("online")
    await wait_until(lambda: len(link(rig, "device.online", "lasbro:bridge-hub1")) > online,
                     "bridge back", timeout=15)
    out = await rig.gw.commands.execute(TENANT, "s-anna", "lasbro:LB-1", "lock.unlock")
    assert out.status == CommandStatus.SENT
