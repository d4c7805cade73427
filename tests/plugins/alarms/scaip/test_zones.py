"""SCAIP ``did`` (which of the unit's devices raised it) is the typed ``location.zone``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway import Event, RawFrame
from plugins.alarms.scaip import ScaipAdapter

NOW = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def raised(fields: str) -> Event:
    body = f"<mrq><ref>55</ref><cid>678</cid><dty>0003</dty>{fields}</mrq>"
    frame = RawFrame("scaip", "vasteras", "sip-udp", "sip:unit7@navet.local", body.encode(), NOW)
    (event,) = [e for e in ScaipAdapter({}).decode(frame) if e.type == "alarm.raised"]
    return event


def test_did_is_the_zone_as_sent_and_lco_stays_the_location_code() -> None:
    ev = raised("<did>012</did><lco>012</lco>")
    assert ev.location is not None
    assert ev.location.zone == "012"  # leading zero kept
    assert ev.location.user is None  # SCAIP has no user
    assert ev.location.code == "scaip-lco:012"
    assert ev.location.text == "bedroom"


def test_did_alone_gives_a_location_with_only_the_zone() -> None:
    ev = raised("<did>PB4711</did>")
    assert ev.location is not None
    assert (ev.location.zone, ev.location.code, ev.location.text) == ("PB4711", None, None)


@pytest.mark.parametrize("did", ["pendant 2", "PB-47", "12345678901234567"])
def test_a_did_no_zone_can_hold_stays_in_the_text_only(did: str) -> None:
    ev = raised(f"<did>{did}</did><lco>2</lco>")
    assert ev.location is not None and ev.location.zone is None
    assert did in ev.data.text  # the operator still reads which device it was


def test_no_did_no_zone() -> None:
    ev = raised("<lco>2</lco>")
    assert ev.location is not None and ev.location.zone is None
