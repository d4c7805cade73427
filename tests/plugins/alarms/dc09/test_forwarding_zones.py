"""The zone an adapter read reaches an independent DC-09 receiver (pysiaalarm) unchanged.

Each test decodes what a device sent with Navet's own adapter (DC-09 panel,
SCAIP unit), hands the events to the DC-09 forwarding sink, and reads the
zone and user where pysiaalarm, the receiver Home Assistant uses, reports
them: SIA-DCS ``message`` (the number after the code) and ``id`` (user),
Contact ID ``ri`` (the three digits).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import Event, RawFrame, SystemClock, make_event
from plugins.alarms.dc09 import Dc09Adapter
from plugins.alarms.dc09.frame import clear_content, encode_frame
from plugins.alarms.dc09.transmitter import Dc09ForwardSink
from plugins.alarms.scaip import ScaipAdapter
from tests.services import free_port, loopback_outbound

pysiaalarm = pytest.importorskip(
    "pysiaalarm.aio", reason="pip install pysiaalarm (the independent DC-09 receiver)")
from pysiaalarm import SIAAccount  # noqa: E402

WAIT = 10.0


@pytest.fixture
async def receiver() -> AsyncIterator[Callable[[], Any]]:
    """``await receiver()`` -> (port, events) of a running pysiaalarm TCP receiver, #1234."""
    clients: list[Any] = []

    async def start() -> tuple[int, list[Any]]:
        events: list[Any] = []

        async def on_event(event: Any) -> None:
            events.append(event)

        port = free_port()
        client = pysiaalarm.SIAClient("127.0.0.1", port, [SIAAccount("1234", None)], on_event)
        await client.async_start()
        clients.append(client)
        await asyncio.sleep(0.05)
        return port, events

    yield start
    for client in clients:
        await client.async_stop()


def _sink(port: int, **settings: Any) -> Dc09ForwardSink:
    conf = {"receivers": [{"host": "127.0.0.1", "port": port}], "account": "1234",
            "ack_timeout_s": 3.0, "retry_delay_s": 0.0, **settings}
    return Dc09ForwardSink(conf, SimpleNamespace(clock=SystemClock(), subscription=None,
                                                 outbound=loopback_outbound()))


async def _forward(sink: Dc09ForwardSink, events: list[Event], got: list[Any], n: int) -> None:
    try:
        for event in events:
            await sink.deliver(event)
        for _ in range(int(WAIT / 0.02)):
            if len(got) >= n:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"receiver got {len(got)} events, expected {n}")
    finally:
        await sink.aclose()


def _panel(token: str, data: str) -> list[Event]:
    """What Navet's DC-09 receiver makes of one panel frame."""
    now = datetime.now(UTC)
    raw = encode_frame(token, 1, line="1", receiver="1", account="5678",
                       content=clear_content(data, (), now))
    adapter = Dc09Adapter({"tcp_port": 0, "accounts": [{"account": "5678"}]})
    return adapter.decode(RawFrame("dc09", "vasteras", "tcp", "127.0.0.1:1", raw, now))


def _unit(fields: str, ref: str = "55") -> list[Event]:
    """What Navet's SCAIP receiver makes of one unit's <mrq>."""
    body = f"<mrq><ref>{ref}</ref><cid>678</cid><dty>0003</dty>{fields}</mrq>"
    frame = RawFrame("scaip", "vasteras", "sip-udp", "sip:unit7@navet.local", body.encode(),
                     datetime.now(UTC))
    return [e for e in ScaipAdapter({}).decode(frame) if e.type == "alarm.raised"]


async def test_sia_zone_and_user_from_a_panel_reach_the_receiver(receiver: Any) -> None:
    port, got = await receiver()
    events = _panel("SIA-DCS", "#5678|Nid0042/ri1/MA011")
    await _forward(_sink(port), events, got, 1)
    (ev,) = got
    assert ev.code == "QA"  # a medical alarm is a personal alarm in Navet's model
    assert ev.message == "011"  # the zone exactly as the panel sent it, not 001
    assert ev.id == "0042"


async def test_sia_restoral_carries_the_zone_its_alarm_was_raised_with(receiver: Any) -> None:
    port, got = await receiver()
    raised = _panel("SIA-DCS", "#5678|NMA012")
    (alarm,) = raised
    # the cancel as the alarm rules make it: no location of its own
    cancel = make_event("alarm.cancelled", tenant="vasteras", time=datetime.now(UTC),
                        source={"adapter": "navet", "protocol": "navet", "ref": "c"},
                        device=alarm.device, alarm=alarm.alarm,
                        data={"reason": "resident", "by": {"kind": "resident", "id": "r"}})
    await _forward(_sink(port), [alarm, cancel], got, 2)
    assert [(e.code, e.message) for e in got] == [("QA", "012"), ("QH", "012")]


async def test_contact_id_zone_from_a_panel_reaches_the_receiver(receiver: Any) -> None:
    port, got = await receiver()
    events = _panel("ADM-CID", "#5678|1100 01 015")
    await _forward(_sink(port, format="ADM-CID"), events, got, 1)
    (ev,) = got
    assert ev.ri == "015"


async def test_scaip_did_reaches_a_dc09_receiver_as_the_zone(receiver: Any) -> None:
    port, got = await receiver()
    await _forward(_sink(port), _unit("<did>7</did><lco>012</lco>"), got, 1)
    await _forward(_sink(port, format="ADM-CID"), _unit("<did>7</did>", ref="56"), got, 2)
    sia, cid = got
    assert sia.message == "7"  # SIA: as sent
    assert cid.ri == "007"  # Contact ID: three digits


async def test_without_a_zone_the_fallback_is_001(receiver: Any) -> None:
    port, got = await receiver()
    await _forward(_sink(port), _unit("<lco>002</lco>"), got, 1)
    (ev,) = got
    assert ev.message == "001"


async def test_after_a_restart_the_restoral_is_recalled_from_the_alarm_record(
    receiver: Any,
) -> None:
    from gateway.core.rules.alarms import AlarmRecord

    port, got = await receiver()
    (raised,) = _panel("SIA-DCS", "#5678|NQA011")
    record = AlarmRecord("vasteras", str(raised.alarm))
    record.apply(raised)

    class Alarms:  # the gateway's alarm service, as far as the sink uses it
        async def alarm(self, tenant: str, alarm: str) -> AlarmRecord | None:
            return record if (tenant, alarm) == ("vasteras", raised.alarm) else None

    # a sink that never saw the raise (Navet restarted since) gets the cancel
    sink = Dc09ForwardSink(
        {"receivers": [{"host": "127.0.0.1", "port": port}], "account": "1234",
         "ack_timeout_s": 3.0, "retry_delay_s": 0.0},
        SimpleNamespace(clock=SystemClock(), subscription=None, outbound=loopback_outbound(),
                        alarms=Alarms()))
    cancel = make_event("alarm.cancelled", tenant="vasteras", time=datetime.now(UTC),
                        source={"adapter": "navet", "protocol": "navet", "ref": "c"},
                        alarm=raised.alarm, data={"reason": "resident"})
    await _forward(sink, [cancel], got, 1)
    (ev,) = got
    assert (ev.code, ev.message) == ("QH", "011")  # not MH 001: the centre can match it
