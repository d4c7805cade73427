"""The zone reaches an upstream SCAIP centre as ``<did>``: SIPp checks it, and so does Navet.

SIPp (an independent SIP implementation) plays the centre and fails the call
unless the forwarded MESSAGE carries the DC-09 panel's zone and user; a second
Navet playing the centre reads a SCAIP unit's ``did`` and ``lco`` back after
the whole downstream pipeline (unit -> Navet -> outbox -> scaip sink).
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway import FakeClock, OutboundPolicy, RawFrame
from gateway.core.gateway import Gateway
from gateway.core.security.outbound.policy import OutboundSettings
from gateway.testing import wait_until as wait_for
from plugins.alarms.dc09 import Dc09Adapter
from plugins.alarms.dc09.frame import clear_content, encode_frame
from plugins.alarms.scaip.forwarder import ScaipForwardSink, mrq_ref
from plugins.alarms.scaip.xml import parse_mrq
from simulators.scaip import ScaipUnit
from tests.services import free_port

from .test_forwarding import _port, _raised
from .test_forwarding import centre as centre  # fixtures
from .test_forwarding import navet as navet
from .test_sipp import FIXTURES, finish_sipp, start_sipp


def _panel_alarm(data: str) -> object:
    now = datetime.now(UTC)
    raw = encode_frame("SIA-DCS", 1, line="1", receiver="1", account="5678",
                       content=clear_content(data, (), now))
    adapter = Dc09Adapter({"tcp_port": 0, "accounts": [{"account": "5678"}]})
    (event,) = adapter.decode(RawFrame("dc09", "vasteras", "tcp", "127.0.0.1:1", raw, now))
    return event


def _sink(port: int, transport: str, clock: FakeClock) -> ScaipForwardSink:
    return ScaipForwardSink({"host": "127.0.0.1", "port": port, "transport": transport,
                             "user": "navet", "registers": False, "cid": "4711"},
                            SimpleNamespace(clock=clock, alarms=None, outbound=OutboundPolicy(
                                OutboundSettings(allow_loopback=True))))


def test_the_mrq_carries_zone_location_code_and_user_on_every_message(
    clock: FakeClock,
) -> None:
    event = _panel_alarm("#5678|Nid0042/MA011")
    sink = _sink(5060, "udp", clock)
    ref = mrq_ref(str(event.alarm))  # type: ignore[attr-defined]
    sink._where[ref] = sink.where(event)  # what deliver() records for the alarm
    for body in (sink.mrq(ref, 3, 10), sink.mrq(ref, 3, 19), sink.mrq(ref, 3, None, mty="RE")):
        mrq = parse_mrq(body)
        assert (mrq.did, mrq.dte) == ("011", "user 0042")


async def test_sipp_as_the_centre_gets_the_panels_zone_and_user(
    tmp_path: Path, clock: FakeClock,
) -> None:
    port = free_port(socket.SOCK_DGRAM)
    scenario = FIXTURES / "sipp_scaip_centre_zone.xml"
    centre_proc = await start_sipp(tmp_path, "centre", "-sf", str(scenario), "-t", "u1",
                                   "-p", str(port), calls=1)
    sink = _sink(port, "udp", clock)
    try:
        await asyncio.sleep(0.5)  # SIPp has no ready signal; UDP is retransmitted anyway
        await asyncio.wait_for(sink.deliver(_panel_alarm("#5678|Nid0042/MA011")), 15)
    finally:
        await sink.aclose()
        await finish_sipp(centre_proc, tmp_path, "centre")  # fails unless <did>011</did> came
    assert len(sink.taken) == 1


@pytest.mark.parametrize("navet", ["udp"], indirect=True)
async def test_a_units_did_and_lco_reach_the_upstream_centre(
    navet: Gateway, centre: Gateway, clock: FakeClock,
) -> None:
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", _port(navet, "scaip-vasteras", "udp")),
                     clock=clock, hold_max_s=600)
    await unit.start()
    session = None
    try:
        assert await unit.register() == 200
        session = asyncio.create_task(unit.alarm("fall", did="012", lco="011"))
        await wait_for(lambda: len(_raised(centre, "larmcentral")) == 1)
        (ours,) = _raised(navet, "vasteras")
        (theirs,) = _raised(centre, "larmcentral")
        assert ours.location is not None and ours.location.zone == "012"
        assert theirs.location is not None
        assert theirs.location.zone == "012"  # leading zero and all, two hops on
        assert theirs.location.code == "scaip-lco:011"
    finally:
        if session is not None:
            session.cancel()
        await unit.stop()


async def test_after_a_restart_the_cancel_is_recalled_from_the_alarm_record(
    clock: FakeClock,
) -> None:
    from gateway import make_event
    from gateway.core.rules.alarms import AlarmRecord

    raised = _panel_alarm("#5678|Nid0042/MA011")
    record = AlarmRecord("vasteras", str(raised.alarm))  # type: ignore[attr-defined]
    record.apply(raised)  # type: ignore[arg-type]

    class Alarms:
        async def alarm(self, tenant: str, alarm: str) -> AlarmRecord | None:
            return record if alarm == record.id else None

    sink = _sink(5060, "udp", clock)
    sink.alarms = Alarms()
    sent: list[bytes] = []

    async def exchange(ref: str, body: bytes) -> None:
        sent.append(body)

    sink._exchange = exchange  # type: ignore[assignment,method-assign]  # no centre needed
    await sink.deliver(make_event(
        "alarm.cancelled", tenant="vasteras", time=clock.now(),
        source={"adapter": "navet", "protocol": "navet", "ref": "c"}, alarm=record.id,
        data={"reason": "resident"}))
    (body,) = sent
    mrq = parse_mrq(body)
    assert (mrq.dty, mrq.stc, mrq.did, mrq.dte) == (3, 19, "011", "user 0042")
