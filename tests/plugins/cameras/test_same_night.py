"""The same night through either vendor gives the same normalised events.

Two gateways, one with the Ugglan cloud (a real HTTP server, signed webhooks),
one with Vaktaren units (MQTT), live the same scripted night on fake clocks:
the cameras' own life (privacy at the start, heartbeats, a seeded network
fault) and the night patrol's checks (one ended by staff, one left to run to
its maximum length, one refused). Apart from ids, device ids and vendor
references, what Navet stores must be identical.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.policy.cameras import CheckRefused, CheckStarted
from gateway.transports.memory import MemoryBroker
from simulators import ScenarioRunner
from simulators.cameras_night import CameraNight

from .helpers import MAX_S, T0, TENANT, events, settle, tick, ugglan_gateway, vaktaren_gateway

HOUR = 3600.0


async def live_the_night(gw: Gateway, fleet: Any, clock: FakeClock) -> list[str]:
    runner = ScenarioRunner(clock)
    # every camera faults (seeded time) so the comparison covers faults too
    CameraNight(fleet, fleet.cameras, seed=3, heartbeat_s=600, faults=True).schedule(runner)
    task = asyncio.create_task(runner.run(until=8 * HOUR))
    svc = gw.supervision
    await tick(clock, 600, step=60, gw=gw, fleet=fleet)
    first = await svc.start_check(TENANT, "natt-1", "r-1")
    assert isinstance(first, CheckStarted)
    await tick(clock, 25, gw=gw, fleet=fleet)
    await svc.observe(TENANT, "natt-1", first.session, "asleep")
    await svc.end_check(TENANT, "natt-1", first.session)
    await tick(clock, 300, step=60, gw=gw, fleet=fleet)
    second = await svc.start_check(TENANT, "natt-1", "r-2")
    assert isinstance(second, CheckStarted)
    await tick(clock, MAX_S + 10, gw=gw, fleet=fleet)  # nobody says stop
    third = await svc.start_check(TENANT, "natt-1", "r-3")
    assert isinstance(third, CheckRefused)
    # to just past the end of the script
    await tick(clock, 8 * HOUR - 995 + 1, step=120, gw=gw, fleet=fleet)
    await settle(gw, fleet)
    async with asyncio.timeout(30):  # the script ended at 8 h; the clock is past it
        await task
    await settle(gw, fleet)
    return [first.session, second.session]


def normalised(gw: Gateway, sessions: list[str]) -> list[str]:
    names = {s: f"session-{i}" for i, s in enumerate(sessions)}
    stored = events(gw)
    for ev in stored:  # ids are per source (adapter, device): equal only in kind
        names[ev.id] = "<event id>"
        if ev.alarm:
            names[ev.alarm] = "<alarm id>"
    out = []
    for ev in stored:
        d = ev.model_dump(mode="json", exclude={"id", "received", "source", "tenant"})
        if d.get("device"):
            d["device"] = {"kind": d["device"]["kind"]}
        text = json.dumps(d, sort_keys=True)
        for real, name in names.items():
            text = text.replace(real, name)
        out.append(text)
    return sorted(out)


async def test_both_vendors_give_identical_normalised_events_for_the_same_night(
        tmp_path: Path) -> None:
    clock_u, clock_v = FakeClock(T0), FakeClock(T0)
    async with ugglan_gateway(tmp_path / "u", clock_u, MemoryBroker()) as (gw_u, cloud):
        seen_u = normalised(gw_u, await live_the_night(gw_u, cloud, clock_u))
    async with vaktaren_gateway(tmp_path / "v", clock_v, MemoryBroker()) as (gw_v, units):
        seen_v = normalised(gw_v, await live_the_night(gw_v, units, clock_v))
    kinds = {json.loads(e)["type"] for e in seen_u}
    assert {"supervision.started", "supervision.ended", "supervision.refused",
            "supervision.observation", "camera.privacy", "device.heartbeat",
            "device.fault"} <= kinds
    assert seen_u == seen_v
    ends = sorted((json.loads(e)["data"]["reason"], json.loads(e)["data"]["duration_s"])
                  for e in seen_u if json.loads(e)["type"] == "supervision.ended")
    assert ends == [("max_length", MAX_S), ("stopped", 25)]
