"""An adapter's host is built from the collaborators it lends, not from a whole gateway.

Each service of :class:`gateway.AdapterHost` is checked against a stand-in for the one
collaborator behind it, so a host that reached past them (into a ``Gateway``) fails here.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway import AdapterHost, FakeClock, IngestResult, RawFrame
from gateway.core.alarmstate import AlarmState
from gateway.core.hosting import AdapterHostImpl
from gateway.core.metrics import Metrics
from gateway.core.security.outbound import OutboundPolicy
from gateway.core.settings import AdapterInstance, HttpSettings

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


class _Alarms:
    """The projection's answer: ``a-2`` is a repeat folded into ``a-1``, acknowledged."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def status(self, tenant: str, alarm: str) -> tuple[str, AlarmState] | None:
        self.asked.append((tenant, alarm))
        return {"a-1": ("a-1", AlarmState.RAISED),
                "a-2": ("a-1", AlarmState.ACKNOWLEDGED)}.get(alarm)


class _DeadLetters:
    def __init__(self) -> None:
        self.kept: list[tuple[RawFrame, str]] = []

    async def add(self, frame: RawFrame, reason: str) -> int:
        self.kept.append((frame, reason))
        return len(self.kept)


@dataclasses.dataclass
class _Rig:
    host: AdapterHostImpl
    ingested: list[RawFrame]
    alarms: _Alarms
    dead: _DeadLetters
    metrics: Metrics
    webhooks: dict[str, Any]
    mqtt: list[object]


def _frame(payload: bytes = b"x") -> RawFrame:
    return RawFrame("fake", "vasteras", "tcp", "198.51.100.7:4000", payload, T0,
                    instance="fake-1")


@pytest.fixture
def rig() -> _Rig:
    ingested: list[RawFrame] = []

    async def store_frame(frame: RawFrame) -> IngestResult:
        ingested.append(frame)
        return IngestResult(frame.ref, accepted=("ev-1",))

    mqtt: list[object] = [object()]
    alarms, dead, metrics, webhooks = _Alarms(), _DeadLetters(), Metrics(), {}
    host = AdapterHostImpl(
        AdapterInstance(adapter="fake", tenant="vasteras", id="fake-1"), FakeClock(T0),
        store_frame=store_frame, mqtt_client=lambda: mqtt[-1], metrics=metrics,
        dead_letters=dead,  # type: ignore[arg-type]
        alarms=alarms, outbound=OutboundPolicy(), environment="production",
        http=HttpSettings(host="0.0.0.0", port=8443), webhooks=webhooks)
    return _Rig(host, ingested, alarms, dead, metrics, webhooks, mqtt)


def test_the_host_is_what_the_sdk_promises_an_adapter(rig: _Rig) -> None:
    promised = {*AdapterHost.__annotations__,
                *(n for n in vars(AdapterHost) if not n.startswith("_"))}
    assert {"ingest", "mqtt", "alarm_status", "outbound"} <= promised
    assert [n for n in sorted(promised) if not hasattr(rig.host, n)] == []
    assert "gateway" not in {f.name for f in dataclasses.fields(AdapterHostImpl)}
    assert (rig.host.tenant, rig.host.instance_id, rig.host.environment) == \
        ("vasteras", "fake-1", "production")


async def test_ingest_goes_to_the_entry_it_was_given(rig: _Rig) -> None:
    frame = _frame()
    result = await rig.host.ingest(frame)
    assert rig.ingested == [frame] and result == IngestResult(frame.ref, accepted=("ev-1",))


def test_mqtt_is_asked_for_when_the_adapter_asks(rig: _Rig) -> None:
    """Not fixed at construction: the shared client may be replaced after the host exists."""
    first = rig.host.mqtt()
    rig.mqtt.append(object())
    assert rig.host.mqtt() is rig.mqtt[-1] is not first


async def test_alarm_state_and_status_come_from_the_projection_answer(rig: _Rig) -> None:
    assert await rig.host.alarm_state("a-1") == "alarm.raised"
    folded = await rig.host.alarm_status("a-2")
    assert folded is not None
    assert (folded.alarm, folded.state, folded.folded, folded.taken) == \
        ("a-1", "alarm.acknowledged", True, True)
    assert await rig.host.alarm_state("nope") is None
    assert await rig.host.alarm_status("nope") is None
    assert {tenant for tenant, _ in rig.alarms.asked} == {"vasteras"}  # its own tenant only


async def test_refused_input_is_counted_and_kept_as_a_dead_letter(rig: _Rig) -> None:
    frame = _frame(b"\x00garbage")
    await rig.host.keep_refused(frame, "not a SIA DC-09 frame")
    rig.host.listener_refused("fake-1/tcp", "flood", 3)
    assert rig.dead.kept == [(frame, "not a SIA DC-09 frame")]
    sample = rig.metrics.registry.get_sample_value
    assert sample("navet_dead_letters_total", {"adapter": "fake"}) == 1
    assert sample("navet_listener_refused_total",
                  {"listener": "fake-1/tcp", "reason": "flood"}) == 3


def test_webhooks_land_in_the_registry_under_the_instance(rig: _Rig) -> None:
    async def handler(request: Any) -> None:
        return None

    rig.host.add_webhook("/events/", handler)
    assert rig.webhooks == {"fake-1/events": handler}


def test_public_url_from_the_http_settings(rig: _Rig) -> None:
    assert rig.host.public_url == "http://127.0.0.1:8443"  # a wildcard bind is not an address
    rig.host.http = HttpSettings(host="navet.vasteras.se", port=443)
    assert rig.host.public_url == "http://navet.vasteras.se:443"
