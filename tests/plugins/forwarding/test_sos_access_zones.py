"""The zone an adapter read reaches an SOS Access receiver, read with ``sos-access``'s schemas."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway import RawFrame, make_event
from plugins.alarms.dc09 import Dc09Adapter
from plugins.alarms.dc09.frame import clear_content, encode_frame
from plugins.alarms.scaip import ScaipAdapter
from tests.plugins.forwarding.test_sos_access import _sink
from tests.plugins.forwarding.test_sos_access import receivers as receivers  # fixture

pytest.importorskip("sos_access.schemas", reason="pip install sos-access")


def _panel(data: str) -> Any:
    now = datetime.now(UTC)
    raw = encode_frame("SIA-DCS", 1, line="1", receiver="1", account="5678",
                       content=clear_content(data, (), now))
    adapter = Dc09Adapter({"tcp_port": 0, "accounts": [{"account": "5678"}]})
    (event,) = adapter.decode(RawFrame("dc09", "vasteras", "tcp", "127.0.0.1:1", raw, now))
    return event


def _unit(fields: str) -> Any:
    body = f"<mrq><ref>55</ref><cid>678</cid><dty>0003</dty>{fields}</mrq>"
    frame = RawFrame("scaip", "vasteras", "sip-udp", "sip:unit7@navet.local", body.encode(),
                     datetime.now(UTC))
    (event,) = [e for e in ScaipAdapter({}).decode(frame) if e.type == "alarm.raised"]
    return event


async def test_dc09_zone_is_the_detector_and_the_restoral_names_it_too(
    receivers: Callable[..., Any],
) -> None:
    rx = await receivers()
    sink = _sink(rx.port)
    raised = _panel("#5678|Nid0042/MA011")
    cancel = make_event("alarm.cancelled", tenant="vasteras", time=datetime.now(UTC),
                        source={"adapter": "navet", "protocol": "navet", "ref": "c"},
                        alarm=raised.alarm, data={"reason": "resident"})
    await sink.deliver(raised)
    await sink.deliver(cancel)
    new, restore = rx.alarms
    assert (new.alarm_type, new.detector) == ("AL", "011")  # as the panel sent it
    assert (restore.alarm_type, restore.detector) == ("RE", "011")
    assert "user 0042" in new.additional_info.splitlines()
    assert new.section_text == "zone 011, user 0042"


async def test_scaip_did_is_the_detector(receivers: Callable[..., Any]) -> None:
    rx = await receivers()
    await _sink(rx.port).deliver(_unit("<did>PB47</did><lco>012</lco>"))
    (new,) = rx.alarms
    assert new.detector == "PB47"
    assert new.section_text == "bedroom"


async def test_a_zone_longer_than_a_detector_goes_in_the_additional_info(
    receivers: Callable[..., Any],
) -> None:
    rx = await receivers()
    await _sink(rx.port).deliver(_unit("<did>PENDANT0042</did>"))
    (new,) = rx.alarms
    assert new.detector is None
    assert "zone PENDANT0042" in new.additional_info.splitlines()


async def test_no_zone_no_detector(receivers: Callable[..., Any]) -> None:
    rx = await receivers()
    await _sink(rx.port).deliver(_unit("<lco>002</lco>"))
    (new,) = rx.alarms
    assert new.detector is None


async def test_after_a_restart_the_restoral_is_recalled_from_the_alarm_record(
    receivers: Callable[..., Any],
) -> None:
    from gateway.core.rules.alarms import AlarmRecord

    rx = await receivers()
    raised = _unit("<did>7</did>")  # a fall would be MA; a pendant is QA
    record = AlarmRecord("vasteras", str(raised.alarm))
    record.apply(raised)

    class Alarms:
        async def alarm(self, tenant: str, alarm: str) -> AlarmRecord | None:
            return record if alarm == raised.alarm else None

    sink = _sink(rx.port)
    sink.alarms = Alarms()  # a fresh sink (Navet restarted) that never saw the raise
    await sink.deliver(make_event(
        "alarm.cancelled", tenant="vasteras", time=datetime.now(UTC),
        source={"adapter": "navet", "protocol": "navet", "ref": "c"}, alarm=raised.alarm,
        data={"reason": "resident"}))
    (restore,) = rx.alarms
    assert (restore.alarm_type, restore.event_code, restore.detector) == ("RE", "QH", "7")
