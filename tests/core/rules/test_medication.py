"""Missed doses become alarms that walk the resident's plan chain, relatives only with consent.

Dose events arrive through a real adapter (Medikub frames through the durable
pipeline), and time moves only on the fake clock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway import Actor, FakeClock, RawFrame
from gateway.core.gateway import Gateway
from gateway.core.rules.medication import alarm_id
from gateway.core.settings import Settings

from .helpers import TENANT, pass_time, settle, stored

KIND = "medication.missed_dose"
OP = Actor(kind="operator", id="op-1")
T0 = 1767225600  # 2026-01-01T00:00:00Z, the FakeClock's start

CARE: dict[str, Any] = {"tenants": [{
    "id": TENANT,
    "name": "Västerås stad",
    "alarms": {"receivers": ["centre", "team-norr", "on-call"], "ack_deadline_s": 120},
    "residents": [{"id": "r-1001"}, {"id": "r-1002"}, {"id": "r-1003"}],
    "devices": [
        {"adapter": "medikub", "address": "MK-1", "kind": "medication_dispenser",
         "resident": "r-1001", "location": "Kök"},
        {"adapter": "medikub", "address": "MK-2", "kind": "medication_dispenser",
         "resident": "r-1002"},
        {"adapter": "medikub", "address": "MK-3", "kind": "medication_dispenser",
         "resident": "r-1003"},
    ],
    "plans": [
        {"id": "plan-1001", "resident": "r-1001",
         "medication": {"receivers": ["team-norr", "centre", "relatives"], "window_s": 1800,
                        "grace_s": 300, "ack_deadline_s": 600, "priority": "high"}},
        {"id": "plan-1002", "resident": "r-1002",
         "medication": {"receivers": ["team-norr", "centre", "relatives"], "window_s": 1800,
                        "grace_s": 300, "ack_deadline_s": 600}},
        # r-1003 has a plan without receivers: the tenant's chain applies
        {"id": "plan-1003", "resident": "r-1003", "medication": {"window_s": 1800}},
    ],
    "relatives": [
        {"id": "rel-1", "resident": "r-1001", "label": "Dotter", "channel": "hook-rel-1"},
        {"id": "rel-2", "resident": "r-1002", "label": "Son", "channel": "hook-rel-2"},
    ],
    "consents": [
        {"id": "c-1", "resident": "r-1001", "purpose": "notify_relatives",
         "valid_from": "2025-06-01T00:00:00Z", "legal_basis": "samtycke; beslut 2025-11"},
        # r-1002's consent ran out before the night in question
        {"id": "c-2", "resident": "r-1002", "purpose": "notify_relatives",
         "valid_from": "2025-06-01T00:00:00Z", "valid_to": "2025-12-31T00:00:00Z",
         "legal_basis": "samtycke; beslut 2025-12"},
    ],
}]}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump(CARE, allow_unicode=True), encoding="utf-8")
    return Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, care_config=[care],
                    adapters=[{"adapter": "medikub", "tenant": TENANT}])


SEQ = iter(range(1, 10_000))


async def medikub(gw: Gateway, clock: FakeClock, serial: str, ev: str, *, at: int = T0,
                  pouch: str = "P-0800", happened: int | None = None) -> None:
    """One Medikub event frame through the adapter and the durable pipeline."""
    ts = happened if happened is not None else int(clock.now().timestamp())
    body = {"seq": next(SEQ), "ts": ts, "ev": ev, "pouch": pouch, "at": at, "lbl": "Morgon"}
    result = await gw.ingest(RawFrame("medikub", TENANT, "mqtt", f"medikub/{serial}/evt",
                                      json.dumps(body).encode(), clock.now(),
                                      meta={"base_topic": "medikub"}))
    assert result.accepted, result.reason
    await settle(gw)


def missed(gw: Gateway, device: str) -> list[Any]:
    return [e for e in stored(gw, "alarm.raised", device=f"medikub:{device}")
            if str(e.data.kind) == KIND]


def chain(gw: Gateway, alarm: str) -> list[tuple[int, str]]:
    return [(e.data.level, e.data.to) for e in stored(gw, "alarm.escalated", alarm=alarm)]


async def test_missed_dose_reported_by_the_dispenser_walks_the_plan_chain_to_relatives(
    gateway: Gateway, clock: FakeClock
) -> None:
    await medikub(gateway, clock, "MK-1", "out")
    await pass_time(gateway, clock, 1800, step=300)
    assert missed(gateway, "MK-1") == []
    await medikub(gateway, clock, "MK-1", "skip")
    [alarm] = missed(gateway, "MK-1")
    assert alarm.id and alarm.alarm == alarm_id(TENANT, "medikub:MK-1", "P-0800")
    assert alarm.resident == "r-1001" and alarm.priority == "high"
    assert alarm.location is not None and alarm.location.text == "Kök"
    assert alarm.time == clock.now()
    assert "P-0800 (Morgon) due 01:00" in alarm.data.text  # Stockholm time
    assert "reported missed by the dispenser" in alarm.data.text
    assert alarm.data.text.endswith("; to team-norr")

    await pass_time(gateway, clock, 599, step=599)
    assert chain(gateway, alarm.alarm) == []
    await pass_time(gateway, clock, 3600, step=60)
    assert chain(gateway, alarm.alarm) == [(1, "centre"), (2, "relative:rel-1")]


async def test_expired_consent_keeps_relatives_out_of_the_chain(
    gateway: Gateway, clock: FakeClock
) -> None:
    await medikub(gateway, clock, "MK-2", "out")
    await medikub(gateway, clock, "MK-2", "skip")
    [alarm] = missed(gateway, "MK-2")
    await pass_time(gateway, clock, 6 * 3600, step=300)
    steps = chain(gateway, alarm.alarm)
    assert steps == [(1, "centre")]
    assert not any("rel-2" in to for _, to in steps)
    [view] = [a for a in await gateway.alarms.open_alarms(TENANT) if a.kind == KIND]
    assert view.state == "raised" and view.escalated_to == "centre"


async def test_consent_that_expires_during_the_alarm_stops_relatives_being_told(
    gateway: Gateway, clock: FakeClock, tmp_path: Path
) -> None:
    care = json.loads(json.dumps(CARE))
    care["tenants"][0]["consents"][0]["valid_to"] = "2026-01-01T00:05:00Z"
    from gateway.core.care import CareConfig, apply_care_config

    await apply_care_config(CareConfig.model_validate(care), gateway.store, gateway.directory)
    await medikub(gateway, clock, "MK-1", "skip")
    [alarm] = missed(gateway, "MK-1")
    await pass_time(gateway, clock, 6 * 3600, step=300)
    assert chain(gateway, alarm.alarm) == [(1, "centre")]


async def test_navet_decides_missed_at_its_own_deadline_when_the_vendor_does_not(
    gateway: Gateway, clock: FakeClock
) -> None:
    start = clock.now()
    await medikub(gateway, clock, "MK-1", "due")
    await medikub(gateway, clock, "MK-1", "out")
    await pass_time(gateway, clock, 1800 + 300 - 1, step=60)  # window + grace, less a second
    assert missed(gateway, "MK-1") == []
    await pass_time(gateway, clock, 2, step=2)
    [alarm] = missed(gateway, "MK-1")
    assert (alarm.time - start).total_seconds() == 2100
    assert "no report that it was taken" in alarm.data.text
    # the vendor's own verdict arriving later is the same alarm, not a second one
    await medikub(gateway, clock, "MK-1", "skip")
    assert len(missed(gateway, "MK-1")) == 1


async def test_dose_taken_in_its_window_raises_nothing(gateway: Gateway,
                                                       clock: FakeClock) -> None:
    await medikub(gateway, clock, "MK-1", "out")
    await pass_time(gateway, clock, 900, step=300)
    await medikub(gateway, clock, "MK-1", "taken")
    await pass_time(gateway, clock, 4 * 3600, step=300)
    assert missed(gateway, "MK-1") == []
    # a contradicting "missed" after "taken" changes nothing
    await medikub(gateway, clock, "MK-1", "skip")
    assert missed(gateway, "MK-1") == []


async def test_dose_taken_late_closes_an_alarm_nobody_has_taken_yet(
    gateway: Gateway, clock: FakeClock
) -> None:
    await medikub(gateway, clock, "MK-1", "out")
    await pass_time(gateway, clock, 1800, step=300)
    await medikub(gateway, clock, "MK-1", "skip")
    [alarm] = missed(gateway, "MK-1")
    await pass_time(gateway, clock, 300, step=300)  # 35 min after its time
    await medikub(gateway, clock, "MK-1", "taken")
    [update] = stored(gateway, "alarm.updated", alarm=alarm.alarm)
    assert update.data.text == "dose taken late at 01:35, 35 min after its time"
    [closed] = stored(gateway, "alarm.closed", alarm=alarm.alarm)
    assert closed.data.outcome == "no_action_needed" and closed.data.by.id == "navet"
    await pass_time(gateway, clock, 3600, step=300)
    assert chain(gateway, alarm.alarm) == [], "a closed alarm escalates no further"
    assert [a for a in await gateway.alarms.open_alarms(TENANT) if a.kind == KIND] == []


async def test_dose_taken_late_only_informs_whoever_has_the_alarm(
    gateway: Gateway, clock: FakeClock
) -> None:
    await medikub(gateway, clock, "MK-1", "skip")
    [alarm] = missed(gateway, "MK-1")
    await gateway.alarms.acknowledge(TENANT, alarm.alarm, OP)
    await settle(gateway)
    await pass_time(gateway, clock, 3000, step=300)
    await medikub(gateway, clock, "MK-1", "taken")
    [update] = stored(gateway, "alarm.updated", alarm=alarm.alarm)
    assert "taken late" in update.data.text
    assert stored(gateway, "alarm.closed", alarm=alarm.alarm) == []
    [view] = [a for a in await gateway.alarms.open_alarms(TENANT) if a.kind == KIND]
    assert view.state == "acknowledged"


async def test_taken_in_time_but_reported_late_closes_as_false_alarm(
    gateway: Gateway, clock: FakeClock
) -> None:
    await medikub(gateway, clock, "MK-1", "out")
    await pass_time(gateway, clock, 2400, step=300)
    [alarm] = missed(gateway, "MK-1")
    # the report of a dose taken at 00:10 arrives only now (the link was down)
    await medikub(gateway, clock, "MK-1", "taken", happened=T0 + 600)
    [closed] = stored(gateway, "alarm.closed", alarm=alarm.alarm)
    assert closed.data.outcome == "false_alarm"
    assert "taken in time at 01:10" in closed.data.note


async def test_a_late_due_report_gets_its_grace_before_navet_decides(
    gateway: Gateway, clock: FakeClock
) -> None:
    await pass_time(gateway, clock, 3 * 3600, step=600)
    # a catch-up: due at 00:00, reported three hours late, its "taken" follows within grace
    await medikub(gateway, clock, "MK-1", "out", happened=T0)
    await pass_time(gateway, clock, 120, step=60)
    await medikub(gateway, clock, "MK-1", "taken", happened=T0 + 300)
    await pass_time(gateway, clock, 3600, step=300)
    assert missed(gateway, "MK-1") == []


async def test_plan_without_receivers_uses_the_tenant_chain(gateway: Gateway,
                                                           clock: FakeClock) -> None:
    await medikub(gateway, clock, "MK-3", "skip")
    [alarm] = missed(gateway, "MK-3")
    assert alarm.priority == "normal" and "; to" not in alarm.data.text
    await pass_time(gateway, clock, 3600, step=60)
    assert chain(gateway, alarm.alarm) == [(1, "team-norr"), (2, "on-call")]


async def test_a_pending_dose_survives_a_restart(settings: Settings, clock: FakeClock) -> None:
    from gateway.transports.memory import MemoryBroker

    broker = MemoryBroker()
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    await medikub(gw, clock, "MK-1", "out")
    await gw.stop()
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet2"))
    await gw.start()
    try:
        await pass_time(gw, clock, 2200, step=100)
        [alarm] = missed(gw, "MK-1")
        assert (alarm.time.timestamp() - T0) == 2100
    finally:
        await gw.stop()


def test_relatives_are_in_the_chain_only_with_the_residents_own_valid_consent() -> None:
    from datetime import UTC, datetime

    from gateway.core.care import Tenant
    from gateway.core.rules.medication import receivers_for

    def tenant(**consent: Any) -> Tenant:
        base = {"id": "c", "resident": "r-1", "purpose": "notify_relatives",
                "valid_from": "2026-01-01T00:00:00Z", "legal_basis": "samtycke"}
        return Tenant.model_validate({
            "id": TENANT, "name": "V", "residents": [{"id": "r-1"}, {"id": "r-2"}],
            "relatives": [{"id": "a", "resident": "r-1"}, {"id": "b", "resident": "r-1"},
                          {"id": "x", "resident": "r-2"}],
            "consents": [{**base, **consent}]})

    when = datetime(2026, 3, 1, tzinfo=UTC)
    chain = ["team", "relatives", "relative:x", "centre", "relative:a"]
    assert receivers_for(tenant(), "r-1", chain, when) == [
        "team", "relative:a", "relative:b", "centre"]  # x is not r-1's relative
    for bad in ({"valid_to": "2026-02-01T00:00:00Z"}, {"withdrawn": "2026-02-15T00:00:00Z"},
                {"valid_from": "2026-04-01T00:00:00Z"}, {"given_by": "cohabitant:Make"},
                {"purpose": "camera_supervision"}):
        assert receivers_for(tenant(**bad), "r-1", chain, when) == ["team", "centre"], bad
    assert receivers_for(tenant(), "r-2", ["relatives"], when) == []  # r-2 never consented


async def test_a_chain_of_only_relatives_without_consent_falls_back_to_the_tenants(
    gateway: Gateway, clock: FakeClock
) -> None:
    care = json.loads(json.dumps(CARE))
    care["tenants"][0]["plans"][1]["medication"]["receivers"] = ["relatives"]
    from gateway.core.care import CareConfig, apply_care_config

    await apply_care_config(CareConfig.model_validate(care), gateway.store, gateway.directory)
    await medikub(gateway, clock, "MK-2", "skip")
    [alarm] = missed(gateway, "MK-2")
    await pass_time(gateway, clock, 3600, step=60)
    assert chain(gateway, alarm.alarm) == [(1, "team-norr"), (2, "on-call")]
