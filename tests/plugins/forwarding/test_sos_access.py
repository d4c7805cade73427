"""Forwarding to SOS Access v4, checked by an independent implementation's schemas.

The receiver in these tests parses every telegram Navet sends with the
``sos-access`` package's own marshmallow schemas (written by others from the
protocol description) and answers with its response schema, so a field name,
length or format we got wrong fails here, not at SOS Alarm.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import SystemClock, TransportError, make_event
from plugins.forwarding.sos_access import SosAccessSink, wgs84_pos
from tests.services import free_port, loopback_outbound

schemas = pytest.importorskip("sos_access.schemas", reason="pip install sos-access")

AUTH = "abcdefghij12345"  # 15 characters, as the protocol wants


class Receiver:
    """An SOS Access v4 receiver: one telegram per connection, answers as scripted."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.port = free_port()
        self.answers = list(answers or [])
        self.alarms: list[Any] = []
        self.pings: list[Any] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = b""
        while b"</alarmrequest>" not in data and b"</pingrequest>" not in data:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
        text = data.decode("iso-8859-1")
        status = self.answers.pop(0) if self.answers else 0
        if "<pingrequest>" in text:
            self.pings.append(schemas.PingRequestSchema().load(text))
            out = schemas.PingResponseSchema().dump(schemas.PingResponse(
                status=status, info="pong", reference=None, arrival_time=None))
        else:
            self.alarms.append(schemas.AlarmRequestSchema().load(text))
            out = schemas.AlarmResponseSchema().dump(schemas.AlarmResponse(
                status=status, info="answer", reference=None, arrival_time=None))
        writer.write(out.encode("iso-8859-1"))
        await writer.drain()
        writer.close()


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[..., Any]]:
    made: list[Receiver] = []

    async def make(answers: list[int] | None = None) -> Receiver:
        rx = Receiver(answers)
        await rx.start()
        made.append(rx)
        return rx

    yield make
    for rx in made:
        await rx.stop()


def _sink(*ports: int, **more: Any) -> SosAccessSink:
    return SosAccessSink({
        "receivers": [{"host": "127.0.0.1", "port": p} for p in ports],
        "authentication": AUTH, "receiver": "SOS-TEST", "transmitter_type": "NAVET",
        "transmitter_code": "NV000001", "transmitter_codes": {"r-1001": "NV001001"},
        "timeout_s": 3, **more}, SimpleNamespace(clock=SystemClock(), outbound=loopback_outbound()))


def _event(etype: str = "alarm.raised", kind: str = "fall", **more: Any) -> Any:
    data: dict[str, Any] = {"kind": kind} if etype == "alarm.raised" else {"reason": "resident"}
    return make_event(etype, tenant="vasteras", time=datetime(2026, 11, 27, 21, 5, 7, 42000,
                                                                tzinfo=UTC),
                      source={"adapter": "scaip", "protocol": "scaip", "ref": etype},
                      alarm="scaip:unit7:12", resident="r-1001", data=data, **more)


async def test_alarm_and_restore_parse_with_an_independent_schema(
    receivers: Callable[..., Any],
) -> None:
    rx = await receivers()
    sink = _sink(rx.port)
    await sink.deliver(_event(location={"text": "Sovrum",
                                        "point": {"lat": 59.6099, "lon": 16.5448}}))
    await sink.deliver(_event("alarm.cancelled"))
    new, restore = rx.alarms
    assert new.alarm_type == "AL" and new.event_code == "MA"  # a fall
    assert restore.alarm_type == "RE" and restore.event_code == "MH"
    assert new.authentication == AUTH and new.receiver == "SOS-TEST"
    assert new.transmitter_code == "NV001001"  # the resident's own installation
    assert new.transmitter_type == "NAVET"
    assert new.transmitter_time == datetime(2026, 11, 27, 21, 5, 7, 42000)
    assert new.section_text == "Sovrum"
    assert new.position["pos"] == wgs84_pos(59.6099, 16.5448) == "N593659E0163269"
    assert new.reference == restore.reference  # both name the same alarm
    assert sink.sent == 2 and sink.status()["link_up"] is True


async def test_failover_answer_sends_to_the_secondary(receivers: Callable[..., Any]) -> None:
    primary, secondary = await receivers([5]), await receivers()
    sink = _sink(primary.port, secondary.port)
    await sink.deliver(_event(kind="personal_button"))
    assert len(primary.alarms) == 1 and len(secondary.alarms) == 1
    assert secondary.alarms[0].event_code == "QA"


async def test_duplicate_is_delivered_wrong_telegram_is_dead_outage_is_retried(
    receivers: Callable[..., Any],
) -> None:
    rx = await receivers([10, 3, 9])
    sink = _sink(rx.port)
    await sink.deliver(_event())  # 10: the receiver already has it
    with pytest.raises(TransportError) as wrong:
        await sink.deliver(_event())
    assert wrong.value.permanent and "wrong content" in str(wrong.value)
    with pytest.raises(TransportError) as busy:
        await sink.deliver(_event())
    assert not busy.value.permanent  # service unavailable: the outbox tries again
    down = _sink(free_port())
    with pytest.raises(TransportError) as gone:
        await down.deliver(_event())
    assert not gone.value.permanent and down.status()["link_up"] is False


async def test_heartbeats_are_pings_the_receiver_understands(
    receivers: Callable[..., Any],
) -> None:
    rx = await receivers()
    sink = _sink(rx.port, heartbeat_s=0.05)
    await sink.start()
    try:
        for _ in range(100):
            if len(rx.pings) >= 2:
                break
            await asyncio.sleep(0.02)
    finally:
        await sink.aclose()
    assert len(rx.pings) >= 2
    assert rx.pings[0].authentication == AUTH and rx.pings[0].transmitter_code == "NV000001"


def test_position_format() -> None:
    assert wgs84_pos(59.0, 18.0) == "N590000E0180000"
    assert wgs84_pos(-33.8688, -151.2093) == "S335213W1511256"
