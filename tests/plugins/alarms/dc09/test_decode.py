"""decode(): SIA-DCS and Contact ID payloads to contract v1 events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import Event, PayloadError, RawFrame
from plugins.alarms.dc09 import Dc09Adapter
from plugins.alarms.dc09.crypto import seal
from plugins.alarms.dc09.frame import clear_content, encode_frame

T0 = datetime(2026, 1, 1, 8, 0, 0, tzinfo=UTC)
KEY = "000102030405060708090A0B0C0D0E0F"
SETTINGS: dict[str, Any] = {
    "tcp_port": 0,
    "accounts": [
        {"account": "1234"},
        {"account": "BEEF", "key": KEY},
        {"account": "777", "device_kind": "alarm_panel"},
    ],
}
ADAPTER = Dc09Adapter(SETTINGS)


def frame(token: str, data: str, *, account: str = "1234", seq: int = 1,
          when: datetime | None = T0, key: bytes | None = None) -> bytes:
    content = clear_content(data, (), when)
    if key is not None:
        content = seal(key, content, has_data=bool(data))
    return encode_frame(token, seq, line="1", receiver="1", account=account, content=content,
                        encrypted=key is not None)


def decode(raw: bytes) -> list[Event]:
    return ADAPTER.decode(RawFrame("dc09", "vasteras", "tcp", "127.0.0.1:1", raw, T0))


def only(events: list[Event]) -> Event:
    assert len(events) == 1, [e.type for e in events]
    return events[0]


def test_medical_alarm_is_a_critical_alarm_on_the_account_device() -> None:
    ev = only(decode(frame("SIA-DCS", "#1234|Nri1/MA012")))
    assert ev.type == "alarm.raised"
    assert ev.data.model_dump() == {"kind": "personal_button", "text": "medical alarm",
                                    "code": "MA"}
    assert ev.priority == "critical"
    assert ev.device is not None and ev.device.id == "dc09:1234"
    assert ev.device.kind == "social_alarm"
    assert ev.time == T0 and ev.tenant == "vasteras"
    assert ev.alarm == "1234-MA-012"
    assert ev.location is not None and ev.location.code == "zone 012"
    assert ev.source.protocol == "sia-dc09"


def test_restore_cancels_the_alarm_it_belongs_to() -> None:
    raised = only(decode(frame("SIA-DCS", "#1234|Nri1/MA012", seq=1)))
    restored = only(decode(frame("SIA-DCS", "#1234|Nri1/MH012", seq=2)))
    assert restored.type == "alarm.cancelled"
    assert restored.data.model_dump() == {"reason": "device", "by": None}
    assert restored.alarm == raised.alarm


@pytest.mark.parametrize(
    ("data", "etype", "body"),
    [
        ("#1234|NAT", "device.fault", {"kind": "mains_lost", "active": True,
                                        "code": "AT", "text": "AC (mains) trouble"}),
        ("#1234|NAR", "device.fault", {"kind": "mains_lost", "active": False,
                                        "code": "AR", "text": "AC (mains) restoral"}),
        ("#1234|NXT01", "device.battery", {"low": True, "level_pct": None,
                                            "voltage_mv": None}),
        ("#1234|NYR", "device.battery", {"low": False, "level_pct": None, "voltage_mv": None}),
        ("#1234|NYC", "device.fault", {"kind": "link_lost", "active": True, "code": "YC",
                                        "text": "communication fail"}),
        ("1234|NRP", "device.heartbeat", {"interval_s": None, "link_quality": None}),
        ("#1234|NQA1^Hall^", "alarm.raised", {"kind": "personal_button", "text": "Hall",
                                               "code": "QA"}),
        ("#1234|NFA3", "alarm.raised", {"kind": "other", "text": "fire alarm", "code": "FA"}),
    ],
)
def test_sia_codes_map_to_contract_events(data: str, etype: str, body: dict[str, Any]) -> None:
    ev = only(decode(frame("SIA-DCS", data)))
    assert ev.type == etype
    assert ev.data.model_dump() == body


def test_blocks_with_and_without_slash_read_the_same() -> None:
    with_slash = decode(frame("SIA-DCS", "#1234|Nri1/AT/YT"))
    without = decode(frame("SIA-DCS", "#1234|Nri1ATYT"))
    assert [e.type for e in with_slash] == ["device.fault", "device.battery"]
    assert [e.model_dump() for e in with_slash] == [e.model_dump() for e in without]
    assert len({e.id for e in with_slash}) == 2


@pytest.mark.parametrize(
    ("data", "etype", "code"),
    [
        ("#1234|1100 01 015", "alarm.raised", "1100"),
        ("#1234|3100 01 015", "alarm.cancelled", None),
        ("#1234|1101 00 001", "alarm.raised", "1101"),
        ("#1234|1301 00 000", "device.fault", "1301"),
        ("#1234|1302 00 000", "device.battery", None),
        ("#1234|1602 00 000", "device.heartbeat", None),
        ("#1234|160200000", "device.heartbeat", None),
    ],
)
def test_contact_id_maps_through_its_sia_code(data: str, etype: str, code: str | None) -> None:
    ev = only(decode(frame("ADM-CID", data)))
    assert ev.type == etype
    if code is not None:
        assert ev.data.code == code  # type: ignore[attr-defined]


def test_contact_id_alarm_and_restore_share_the_alarm_id() -> None:
    raised = only(decode(frame("ADM-CID", "#1234|1100 01 015", seq=1)))
    restored = only(decode(frame("ADM-CID", "#1234|3100 01 015", seq=2)))
    assert raised.alarm == restored.alarm == "1234-MA-015"


def test_null_is_a_heartbeat_and_the_account_kind_is_used() -> None:
    ev = only(decode(frame("NULL", "", account="777")))
    assert ev.type == "device.heartbeat"
    assert ev.device is not None and ev.device.kind == "alarm_panel"


def test_encrypted_message_decodes_with_the_account_key() -> None:
    ev = only(decode(frame("SIA-DCS", "#BEEF|NMA1", account="BEEF", key=bytes.fromhex(KEY))))
    assert ev.type == "alarm.raised" and ev.device is not None
    assert ev.device.id == "dc09:BEEF"


def test_same_message_gives_same_ids_whatever_the_path_or_padding() -> None:
    key = bytes.fromhex(KEY)
    a = decode(frame("SIA-DCS", "#BEEF|NMA1", account="BEEF", key=key))
    b = decode(frame("SIA-DCS", "#BEEF|NMA1", account="BEEF", key=key))
    c = ADAPTER.decode(RawFrame("dc09", "vasteras", "udp", "10.0.0.9:7", encode_frame(
        "SIA-DCS", 1, line="9", receiver="2", account="BEEF", encrypted=True,
        content=seal(key, clear_content("#BEEF|NMA1", (), T0), has_data=True)), T0))
    assert [e.id for e in a] == [e.id for e in b] == [e.id for e in c]
    later = decode(frame("SIA-DCS", "#BEEF|NMA1", account="BEEF", key=key, seq=2))
    assert later[0].id != a[0].id


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (frame("SIA-DCS", "#9999|NMA1", account="9999"), "not configured"),
        (frame("SIA-DCS", "#BEEF|NMA1", account="BEEF"), "clear messages are refused"),
        (frame("SIA-DCS", "#1234|NZZ1"), "unknown SIA event code 'ZZ'"),
        (frame("SIA-DCS", "#1234|N!!"), "cannot read SIA-DCS block"),
        (frame("SIA-DCS", "#4321|NMA1"), "data names account"),
        (frame("ADM-CID", "#1234|hello"), "not QEEE GG CCC"),
        (frame("NULL", "#1234|NRP"), "NULL carries data"),
        (frame("FOO", "#1234|NRP"), "unknown message ID token"),
        (frame("SIA-DCS", "#1234|NMA1", when=None, key=None).replace(b"]", b"]_"), "length"),
    ],
)
def test_bad_payloads_are_payload_errors_naming_the_problem(raw: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason) as info:
        decode(raw)
    assert info.value.adapter == "dc09"


def test_message_without_timestamp_uses_receive_time() -> None:
    ev = only(decode(frame("SIA-DCS", "#1234|NMA1", when=None)))
    assert ev.time == T0


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_give_events_or_payload_error(raw: bytes) -> None:
    try:
        events = decode(raw)
    except PayloadError:
        return
    assert isinstance(events, list)


_DATA = st.text(alphabet="#|/^ NAMQRPYXTHCKri0123456789[]_", max_size=40)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["SIA-DCS", "ADM-CID", "NULL"]), _DATA, st.booleans())
def test_well_framed_random_data_gives_events_or_payload_error(
    token: str, data: str, encrypted: bool
) -> None:
    key = bytes.fromhex(KEY) if encrypted else None
    try:
        raw = frame(token, data, account="BEEF" if encrypted else "1234", key=key)
    except (ValueError, UnicodeEncodeError):
        return
    try:
        events = decode(raw)
    except PayloadError:
        return
    assert all(e.device is not None for e in events)
