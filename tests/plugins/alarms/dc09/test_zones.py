"""Zone and user of a DC-09 signal: typed ``location.zone`` / ``location.user``, as sent.

Which number is a user and which a zone is checked against pysiaalarm's SIA
code table (what each code's number "concerns"), an independent source.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway import Event, RawFrame
from plugins.alarms.dc09 import Dc09Adapter
from plugins.alarms.dc09.frame import clear_content, encode_frame
from plugins.alarms.dc09.mapping import SIA_USER_CODES, zone_and_user
from plugins.alarms.dc09.payloads import Signal

T0 = datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)
ADAPTER = Dc09Adapter({"tcp_port": 0, "accounts": [{"account": "1234"}]})


def decode(token: str, data: str) -> Event:
    raw = encode_frame(token, 1, line="1", receiver="1", account="1234",
                       content=clear_content(data, (), T0))
    (event,) = ADAPTER.decode(RawFrame("dc09", "vasteras", "tcp", "127.0.0.1:1", raw, T0))
    return event


def test_sia_zone_is_kept_exactly_as_sent() -> None:
    ev = decode("SIA-DCS", "#1234|Nri1/MA012")
    assert ev.location is not None
    assert (ev.location.zone, ev.location.user) == ("012", None)
    assert ev.location.text == "zone 012"  # for people; the typed field is for machines


def test_sia_id_modifier_is_the_user_and_the_number_the_zone() -> None:
    ev = decode("SIA-DCS", "#1234|Nid0042/ri1/QA7")
    assert ev.location is not None
    assert (ev.location.zone, ev.location.user) == ("7", "0042")
    assert ev.location.text == "zone 7, user 0042"


def test_contact_id_alarm_digits_are_the_zone() -> None:
    ev = decode("ADM-CID", "#1234|1100 01 015")
    assert ev.type == "alarm.raised"
    assert ev.location is not None
    assert (ev.location.zone, ev.location.user) == ("015", None)


def test_contact_id_restore_carries_the_same_zone() -> None:
    ev = decode("ADM-CID", "#1234|3101 01 009")
    assert ev.type == "alarm.cancelled"
    assert ev.location is not None and ev.location.zone == "009"


def test_a_signal_without_zone_or_user_has_no_location() -> None:
    assert decode("SIA-DCS", "#1234|NAT").location is None


@pytest.mark.parametrize(
    ("protocol_code", "number", "want"),
    [
        ("1401", "012", (None, "012")),   # Contact ID opening by user 012
        ("3401", "003", (None, "003")),   # closing by user 003
        ("1406", "001", (None, "001")),   # cancel by user
        ("1100", "012", ("012", None)),   # medical alarm, zone 012
        ("1301", "000", ("000", None)),   # AC loss: zone 000 (the panel itself) as sent
        ("1602", "000", ("000", None)),
    ],
)
def test_contact_id_open_close_class_names_a_user(
    protocol_code: str, number: str, want: tuple[str | None, str | None],
) -> None:
    signal = Signal(code="XX", zone=number, protocol_code=protocol_code)
    assert zone_and_user(signal) == want


def test_sia_user_codes_agree_with_an_independent_code_table() -> None:
    data = pytest.importorskip("pysiaalarm.data.data",
                               reason="pip install pysiaalarm (independent SIA code table)")
    table = data.SIA_CODES
    users = {code for code, c in table.items() if c.concerns == "User number"}
    zones = {code for code, c in table.items() if c.concerns in ("Zone or point", "Zone number")}
    # Every opening/closing code the table says is addressed by user is one here ...
    open_close_users = {code for code in users if code[0] in "OC"}
    assert open_close_users <= SIA_USER_CODES, open_close_users - SIA_USER_CODES
    # ... and nothing here is a code the table addresses by zone.
    assert not SIA_USER_CODES & zones
    for code in sorted(zones)[:40]:
        assert zone_and_user(Signal(code=code, zone="12", protocol_code=code)) == ("12", None)
    for code in sorted(SIA_USER_CODES):
        assert zone_and_user(Signal(code=code, zone="12", protocol_code=code)) == (None, "12")


def test_a_number_that_cannot_be_a_zone_is_not_made_one() -> None:
    # 17 digits is longer than the contract allows: kept in nothing rather than cut.
    assert zone_and_user(Signal(code="MA", zone="1" * 17, protocol_code="MA")) == (None, None)
