"""The same day at a dispenser, told by two vendors, is the same day in Navet.

One scripted day (a missed dose, doses taken, a late one, low stock, a jam, the
battery running down, check-ins) is played through the Dosvakt cloud simulator
(HTTP push) and the Medikub device simulator (MQTT) at once, for one resident.
The normalised events must be identical except for what identifies the vendor:
event id, ``source``, the device identity and the vendor's own fault code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from simulators import ScenarioRunner
from simulators.medication_cloud import DosvaktCloud
from simulators.medication_day import DoseScript
from simulators.medication_mqtt import MedikubDispenser

from .conftest import API_KEY, Served

HOURS = 14
REQUIRED = {"medication.dose_due", "medication.dose_dispensed", "medication.dose_taken",
            "medication.dose_missed", "medication.refill_needed", "device.fault",
            "device.battery", "device.heartbeat"}


def script() -> DoseScript:
    return DoseScript("pair", seed=11, misses_first=True, stock=5, fault_share=1.0)


def normalised(ev: Any) -> str:
    body = ev.model_dump(mode="json")
    for key in ("id", "received", "source", "alarm"):
        body.pop(key)
    body["device"] = {"kind": body["device"]["kind"]}
    if ev.type == "device.fault":
        body["data"].pop("code")  # the vendor's own code: E-JAM at one, 20 at the other
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def of(served: Served, device: str, adapter: str) -> list[str]:
    return sorted(normalised(e) for e in served.events(device=device)
                  if e.source.adapter == adapter)


async def test_both_vendors_give_identical_normalised_events(served: Served) -> None:
    cloud = DosvaktCloud(served.clock, served.ingress, API_KEY, {"DV-1": script()})
    mqtt = served.broker.client("medikub-sim")
    await mqtt.connect()
    device = MedikubDispenser(mqtt, served.clock, "MK-1", script())
    runner = ScenarioRunner(served.clock)
    cloud.schedule(runner, days=1)
    device.schedule(runner, days=1)
    task = asyncio.create_task(runner.run(until=HOURS * 3600))
    try:
        while not task.done():
            await served.clock.advance(60)
            await cloud.drain()
            await served.settle()
        await task
        assert runner.failed == 0
    finally:
        await cloud.stop()

    dosvakt = of(served, "dosvakt:DV-1", "dosvakt")
    medikub = of(served, "medikub:MK-1", "medikub")
    # A dispenser on MQTT also says when its own broker session starts (device.online);
    # behind a vendor cloud that session is the cloud's, watched as the link instead.
    session = [e for e in medikub if json.loads(e)["type"] == "device.online"]
    assert len(session) == 1
    medikub = [e for e in medikub if e not in session]
    assert {json.loads(e)["type"] for e in dosvakt} >= REQUIRED
    assert len(dosvakt) > 60
    assert dosvakt == medikub
    assert served.gw.store.count_dead_letters() == 0

    # and what Navet derived (the missed dose, the jam, low battery) reads the same too
    derived = {d: sorted(normalised(e) for e in served.events("alarm.raised", device=d))
               for d in ("dosvakt:DV-1", "medikub:MK-1")}
    kinds = {json.loads(e)["data"]["kind"] for e in derived["dosvakt:DV-1"]}
    assert "medication.missed_dose" in kinds and "technical.other" in kinds
    assert derived["dosvakt:DV-1"] == derived["medikub:MK-1"]


def test_both_families_are_registered_and_built_as_the_demo_builds_them() -> None:
    from gateway import FakeClock
    from gateway.transports.memory import MemoryBroker
    from simulators import SimContext, SimDevice, build, families

    assert {"dosvakt", "medikub"} <= set(families())
    mqtt = MemoryBroker().client("sim")
    devices = [SimDevice("vasteras", "medikub", a, "medication_dispenser", "r-1")
               for a in ("MK-2", "MK-1")]
    sims = build("medikub", SimContext(mqtt, FakeClock(), "vasteras", {"base_topic": "mk"}),
                 devices)
    assert [s.name for s in sims] == ["vasteras/MK-1", "vasteras/MK-2"]
    assert [s.script.misses_first for s in sims] == [True, False]  # type: ignore[attr-defined]
    assert sims[0].base == "mk/MK-1"  # type: ignore[attr-defined]

    cloud_devices = [SimDevice("vasteras", "dosvakt", "DV-1", "medication_dispenser", "r-1")]
    no_url = SimContext(mqtt, FakeClock(), "vasteras", {"api_keys": ["k"]})
    assert build("dosvakt", no_url, cloud_devices) == []  # nowhere to push to
    ctx = SimContext(mqtt, FakeClock(), "vasteras", {"api_keys": ["k"]},
                     http_url="http://127.0.0.1:8080", instance_id="dv-vasteras")
    [cloud] = build("dosvakt", ctx, cloud_devices)
    assert cloud.url == "http://127.0.0.1:8080/ingress/dv-vasteras/events"  # type: ignore[attr-defined]
