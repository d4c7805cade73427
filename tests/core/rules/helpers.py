"""Helpers for the alarm rule tests: the care configuration, frames, time.

Time only moves when a test says so: ``await pass_time(gw, clock, seconds)``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gateway import FakeClock, RawFrame, make_event
from gateway.core.gateway import Gateway
from gateway.core.model import EventBase

TENANT = "vasteras"
CHAIN = ["centre", "team-norr", "on-call"]
BED = "zigbee2mqtt:r1001_bed"
DOOR = "zigbee2mqtt:r1002_door"
UNIT = "scaip:unit-1"

CARE = {
    "tenants": [{
        "id": TENANT,
        "name": "Västerås stad",
        "alarms": {"receivers": CHAIN, "ack_deadline_s": 120},
        "residents": [{"id": "r-1001", "label": "Lgh 1102"}, {"id": "r-1002"}],
        "devices": [
            {"adapter": "scaip", "address": "unit-1", "kind": "social_alarm",
             "resident": "r-1001", "location": "Hall"},
            {"adapter": "zigbee2mqtt", "address": "r1001_bed", "kind": "passive_sensor",
             "resident": "r-1001", "heartbeat_s": 600, "location": "Sovrum"},
            {"adapter": "zigbee2mqtt", "address": "r1002_door", "kind": "passive_sensor",
             "resident": "r-1002", "heartbeat_s": 600, "heartbeat_tolerance_s": 3600},
        ],
    }],
}


async def settle(gw: Gateway) -> None:
    """Let timers finish what they started, and the rules see everything stored.

    A timer that fired has queued its write before ``FakeClock.advance``
    returns; a no-op write behind it returns once it is committed (the store
    writes in order), so this waits for work, never for time.
    """
    assert gw.rules is not None
    for _ in range(3):
        await gw.store.write(lambda conn: None)
        for _ in range(20):
            await asyncio.sleep(0)
        await gw.rules.drain()


async def pass_time(gw: Gateway, clock: FakeClock, seconds: float, step: float = 60) -> None:
    """Advance the fake clock in steps, settling after each."""
    left = seconds
    while left > 0:
        await clock.advance(min(step, left))
        left -= step
        await settle(gw)


def raised(clock: FakeClock, alarm: str = "a-1", ref: str = "1242", *,
           kind: str = "personal_button", priority: str = "critical") -> EventBase:
    """A social alarm unit's alarm, as a protocol adapter would decode it."""
    return make_event(
        "alarm.raised", tenant=TENANT, time=clock.now(),
        source={"adapter": "scaip", "protocol": "scaip", "ref": ref},
        device={"id": UNIT, "kind": "social_alarm"}, resident="r-1001", alarm=alarm,
        priority=priority, location={"text": "Hall"}, data={"kind": kind, "text": "button"},
    )


def cancelled(clock: FakeClock, alarm: str = "a-1", ref: str = "1243") -> EventBase:
    return make_event(
        "alarm.cancelled", tenant=TENANT, time=clock.now(),
        source={"adapter": "scaip", "protocol": "scaip", "ref": ref},
        device={"id": UNIT, "kind": "social_alarm"}, resident="r-1001", alarm=alarm,
        data={"reason": "resident"},
    )


async def z2m(gw: Gateway, clock: FakeClock, name: str, body: dict[str, Any] | str,
              availability: bool = False) -> None:
    """One Zigbee2MQTT message, through the adapter and the durable pipeline."""
    topic = f"zigbee2mqtt/{name}" + ("/availability" if availability else "")
    payload = body if isinstance(body, str) else json.dumps(body)
    result = await gw.ingest(RawFrame("zigbee2mqtt", TENANT, "mqtt", topic, payload.encode(),
                                      clock.now()))
    assert result.accepted, result.reason


def stored(gw: Gateway, *types: str, alarm: str | None = None,
           device: str | None = None) -> list[EventBase]:
    return [s.event for s in gw.store.query_events(TENANT, types=types, alarm=alarm,
                                                   device=device, limit=10_000)]


def alarms_of(gw: Gateway, kind: str, device: str | None = None) -> list[EventBase]:
    """``alarm.raised`` events of one kind (and device)."""
    return [e for e in stored(gw, "alarm.raised", device=device)
            if str(e.data.kind) == kind]  # type: ignore[attr-defined]


async def open_care_alarms(gw: Gateway) -> list[Any]:
    """Open alarms that are not technical (devices no test feeds fall silent)."""
    return [a for a in await gw.alarms.open_alarms(TENANT)
            if not (a.kind or "").startswith("technical.")]
