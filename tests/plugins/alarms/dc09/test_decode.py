"""decode(): SIA-DCS and Contact ID payloads to contract v1 events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import Event, PayloadError, RawFrame
from plugins.alarms.dc09 import Dc09Adapter
from plugins.alarms.dc09.contact_id import ALARM, CONTACT_ID, USER_CODES, lookup
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


# --------------------------------------------------------------------------- DC-03 blocks


@pytest.mark.parametrize(
    ("data", "alarm", "text"),
    [
        ("#1234|Nri1/MA012|AFallen in hallway", "1234-MA-012", "Fallen in hallway"),
        ("#1234|Nri1/MA012^Hall^|ASecond floor", "1234-MA-012", "Hall / Second floor"),
        ("|Nri1/MA012", "1234-MA-012", "medical alarm"),
        ("#1234||Nri1/MA012", "1234-MA-012", "medical alarm"),
        ('#1234|NQA4*"Bathroom"NM', "1234-QA-4", '*"Bathroom"NM'),
        ("#1234|Nri1/MA012|Xvendor block", "1234-MA-012", "Xvendor block"),
    ],
    ids=["text-block", "zone-and-text", "leading-separator", "empty-block", "xsia", "unknown"],
)
def test_dc03_blocks_beside_the_event_are_kept_as_text(data: str, alarm: str, text: str) -> None:
    ev = only(decode(frame("SIA-DCS", data)))
    assert (ev.type, ev.alarm, ev.data.text) == ("alarm.raised", alarm, text)  # type: ignore[union-attr]


def test_long_text_is_cut_to_the_contract_limit_not_refused() -> None:
    ev = only(decode(frame("SIA-DCS", "#1234|NMA1|A" + "x" * 900)))
    assert ev.data.text is not None and len(ev.data.text) == 500  # type: ignore[union-attr]


def test_data_without_an_event_block_is_still_refused() -> None:
    with pytest.raises(PayloadError, match="no event block"):
        decode(frame("SIA-DCS", "#1234|Xsomething"))


# --------------------------------------------------------------------------- Contact ID table


@pytest.mark.parametrize("code", [*sorted(CONTACT_ID), "199", "299", "799", "998"])
@pytest.mark.parametrize("qualifier", ["1", "3", "6"])
def test_every_contact_id_code_is_an_event_never_a_refusal(code: str, qualifier: str) -> None:
    ev = only(decode(frame("ADM-CID", f"#1234|{qualifier}{code}01 042")))
    entry = lookup(code)
    assert ev.location is not None
    if code in USER_CODES:
        assert (ev.location.user, ev.location.zone) == ("042", None)
    else:
        assert (ev.location.zone, ev.location.user) == ("042", None)
    if entry.group == ALARM:
        assert ev.type == ("alarm.cancelled" if qualifier == "3" else "alarm.raised")
        assert ev.alarm is not None and ev.alarm.endswith("-042")
    elif qualifier == "3":
        assert ev.type != "alarm.raised"


def test_unknown_contact_id_codes_carry_the_code_and_say_so() -> None:
    fault = only(decode(frame("ADM-CID", "#1234|1998 01 001")))
    assert fault.type == "device.fault"
    assert fault.data.model_dump() == {  # type: ignore[union-attr]
        "kind": "other", "active": True, "code": "1998",
        "text": "Contact ID event 998 (not in Navet's table)"}
    alarm = only(decode(frame("ADM-CID", "#1234|1199 01 001")))
    assert (alarm.type, alarm.data.kind, alarm.priority) == (  # type: ignore[union-attr]
        "alarm.raised", "other", "critical")


@pytest.mark.parametrize(
    ("data", "etype", "kind"),
    [
        ("1120 01 007", "alarm.raised", "personal_button"),
        ("1154 01 007", "alarm.raised", "passive.water_leak"),
        ("1102 01 007", "alarm.raised", "passive.no_activity"),
        ("1641 01 007", "alarm.raised", "passive.no_activity"),
        ("1344 01 007", "device.fault", "link_lost"),
        ("1342 01 007", "device.fault", "mains_lost"),
    ],
)
def test_contact_id_alarms_and_troubles_have_their_kind(data: str, etype: str, kind: str) -> None:
    ev = only(decode(frame("ADM-CID", f"#1234|{data}")))
    assert (ev.type, ev.data.kind) == (etype, kind)  # type: ignore[union-attr]


def test_contact_id_opening_closing_keeps_the_user_and_tampers_are_tampers() -> None:
    closing = only(decode(frame("ADM-CID", "#1234|3401 02 012")))
    assert closing.type == "device.heartbeat" and closing.alarm is None
    assert closing.location is not None and closing.location.user == "012"
    tamper = only(decode(frame("ADM-CID", "#1234|1383 01 004")))
    assert tamper.type == "device.tamper" and tamper.data.active  # type: ignore[union-attr]
    cleared = only(decode(frame("ADM-CID", "#1234|3383 01 004")))
    assert not cleared.data.active  # type: ignore[union-attr]


def test_contact_id_with_a_sia_twin_names_the_same_alarm_as_sia() -> None:
    cid = only(decode(frame("ADM-CID", "#1234|1120 01 007")))
    sia = only(decode(frame("SIA-DCS", "#1234|NPA007")))
    assert cid.alarm == sia.alarm == "1234-PA-007"


@pytest.mark.parametrize(
    ("data", "etype", "location"),
    [
        ("#1234|Nri1/CL501", "device.heartbeat", {"user": "501", "zone": None}),
        ("#1234|Nri04/OP001", "device.heartbeat", {"user": "001", "zone": None}),
        ("#1234|NWA007", "alarm.raised", {"code": "zone 007"}),
        ("#1234|NTA3", "device.tamper", {"code": "zone 3"}),
    ],
)
def test_standard_sia_opening_closing_water_and_tamper_are_read(
    data: str, etype: str, location: dict[str, str | None]
) -> None:
    ev = only(decode(frame("SIA-DCS", data)))
    assert ev.type == etype and ev.location is not None
    assert {k: getattr(ev.location, k) for k in location} == location


@pytest.mark.parametrize(("cid", "sia"), [("130", "BA"), ("151", "GA"), ("114", "KA"),
                                          ("154", "WA"), ("100", "MA"), ("110", "FA")])
def test_contact_id_and_sia_twins_raise_and_restore_one_alarm(cid: str, sia: str) -> None:
    by_cid = only(decode(frame("ADM-CID", f"#1234|1{cid} 01 007")))
    restored = only(decode(frame("ADM-CID", f"#1234|3{cid} 01 007", seq=2)))
    by_sia = only(decode(frame("SIA-DCS", f"#1234|N{sia}007")))
    assert by_cid.alarm == restored.alarm == by_sia.alarm == f"1234-{sia}-007"
    assert (by_cid.type, restored.type) == ("alarm.raised", "alarm.cancelled")
