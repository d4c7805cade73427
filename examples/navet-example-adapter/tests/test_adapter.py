"""The Sängvakt adapter, tested the way Navet's tutorial shows (installed: pip install .)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import PayloadError
from gateway.contracts import check_vector

VECTORS = sorted((Path(__file__).parent.parent / "navet_sangvakt" / "vectors").glob("*/*.json"))


def test_bed_exit_is_a_high_alarm_with_the_side_as_zone(navet_decode) -> None:
    [event] = navet_decode("sangvakt", "sangvakt/h1/s3/evt", "7;1767236400;OUT;01",
                           tenant="vasteras")
    assert event.type == "alarm.raised"
    assert event.data.kind == "passive.bed_exit"
    assert event.priority == "high"
    assert event.location.zone == "01"  # as sent, leading zero kept
    assert event.device.id == "sangvakt:s3"
    assert event.time.isoformat() == "2026-01-01T03:00:00+00:00"


def test_the_same_message_twice_has_the_same_id(navet_decode) -> None:
    first = navet_decode("sangvakt", "sangvakt/h1/s3/evt", "8;1767236400;HB;300")
    again = navet_decode("sangvakt", "sangvakt/h1/s3/evt", "8;1767236400;HB;300")
    assert [e.id for e in first] == [e.id for e in again]


@pytest.mark.parametrize("payload, reason", [
    ("x;1767236400;HB;300", "sequence number 'x' is not a number"),
    ("9;1767236400;BAT;140", "BAT needs a percentage"),
    ("9;1767236400", "expected <seq>;<time>;<code>"),
])
def test_bad_lines_are_refused_saying_why(navet_decode, payload: str, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        navet_decode("sangvakt", "sangvakt/h1/s3/evt", payload)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_golden_vector(path: Path) -> None:
    assert check_vector(path) == []


def test_conformance(navet_conformance) -> None:
    report = navet_conformance("sangvakt")
    assert report.passed, report.summary()
