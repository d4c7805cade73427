"""The SCAIP forwarding sink against SIPp acting as the upstream alarm receiving centre.

Two alarms in a row: each MESSAGE must be its own transaction outside a dialog
(new Call-ID, From tag, branch). SIPp keys its calls on the Call-ID; a second
MESSAGE in the first one's Call-ID is, to it, a message for a finished call, and
it never answers, so the second alarm would wait in the outbox.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway import FakeClock, OutboundPolicy, make_event
from gateway.core.security.outbound.policy import OutboundSettings
from plugins.alarms.scaip.forwarder import ScaipForwardSink
from tests.services import free_port

from .test_sipp import FIXTURES, finish_sipp, start_sipp


@pytest.mark.parametrize(("transport", "mode"), [("udp", "u1"), ("tcp", "t1")])
async def test_two_alarms_in_a_row_are_both_answered_by_sipp_as_the_centre(
    tmp_path: Path, clock: FakeClock, transport: str, mode: str
) -> None:
    port = free_port(socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM)
    centre = await start_sipp(tmp_path, "centre", "-sf", str(FIXTURES / "sipp_scaip_centre.xml"),
                              "-t", mode, "-p", str(port), calls=2)
    sink = ScaipForwardSink({"host": "127.0.0.1", "port": port, "transport": transport,
                             "user": "navet", "registers": False, "cid": "4711"},
                            SimpleNamespace(clock=clock, alarms=None, outbound=OutboundPolicy(
                                OutboundSettings(allow_loopback=True))))
    alarms = ["scaip:unit7:101", "scaip:unit7:102"]
    try:
        await asyncio.sleep(0.5)  # SIPp has no ready signal; UDP is retransmitted anyway
        for n, alarm in enumerate(alarms):
            event = make_event("alarm.raised", tenant="vasteras", time=clock.now(),
                               source={"adapter": "scaip", "protocol": "scaip",
                                       "ref": str(n)},
                               alarm=alarm, data={"kind": "personal_button"})
            await asyncio.wait_for(sink.deliver(event), 15)  # taken: snu=0 came back
    finally:
        await sink.aclose()
        await finish_sipp(centre, tmp_path, "centre")
    assert sink.taken == alarms
    assert sink.status()["holding"] == []
