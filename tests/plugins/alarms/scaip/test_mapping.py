"""What each SCAIP request means in contract v1, through the adapter's pure decode()."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import PayloadError, RawFrame
from plugins.alarms.scaip import ScaipAdapter

NOW = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def frame(body: str, **meta: str) -> RawFrame:
    return RawFrame("scaip", "vasteras", "sip-udp", "sip:unit7@navet.local",
                    body.encode(), NOW, meta=meta)


def decode(body: str, **meta: str) -> list:
    return ScaipAdapter({}).decode(frame(body, **meta))


@pytest.mark.parametrize(
    ("dty", "stc", "kind", "priority"),
    [
        ("0003", "0010", "personal_button", "critical"),
        ("2", None, "personal_button", "critical"),  # omitted stc = alarm state
        ("5", "9", "fall", "critical"),
        ("30", "9", "fall", "critical"),
        ("12", "9", "passive.bed_exit", "high"),
        ("44", "9", "passive.chair_exit", "high"),
        ("14", "9", "passive.door_at_night", "high"),
        ("10", "9", "passive.no_activity", "high"),
        ("33", "9", "passive.water_leak", "high"),
        ("11", "81", "medication.missed_dose", "high"),
        ("51", "10", "gps.panic_outside", "critical"),
        ("23", "9", "other", "high"),
        ("3", "16", "technical.low_battery", "normal"),
        ("2", "85", "technical.mains_lost", "normal"),
        ("32", "23", "technical.link_lost", "normal"),
        ("2", "67", "technical.other", "normal"),
        ("2", "777", "other", "high"),  # an unknown status is an alarm, never dropped
    ],
)
def test_alarm_statuses_raise_alarms_of_the_right_kind(
    dty: str, stc: str | None, kind: str, priority: str
) -> None:
    body = f"<mrq><ref>55</ref><cid>678</cid><dty>{dty}</dty>" + \
        (f"<stc>{stc}</stc>" if stc else "") + "</mrq>"
    raised = [e for e in decode(body) if e.type == "alarm.raised"]
    assert len(raised) == 1
    ev = raised[0]
    assert ev.data.kind == kind
    assert ev.priority == priority
    assert ev.alarm == "scaip:unit7:55"
    assert ev.device.id == "scaip:unit7" and ev.device.kind == "social_alarm"
    assert ev.device.serial == "678"
    assert ev.source.ref == "55" and ev.source.protocol == "scaip"


def test_sender_priority_raises_but_never_lowers() -> None:
    low = decode("<mrq><ref>1</ref><cid>1</cid><dty>3</dty><stc>10</stc><pri>0</pri></mrq>")
    assert low[0].priority == "critical"
    raised = decode("<mrq><ref>1</ref><cid>1</cid><dty>2</dty><stc>85</stc><pri>9</pri></mrq>")
    assert raised[0].priority == "critical"


def test_technical_alarms_also_report_the_device_state() -> None:
    battery = decode("<mrq><ref>1</ref><cid>1</cid><dty>3</dty><stc>16</stc></mrq>")
    assert [e.type for e in battery] == ["alarm.raised", "device.battery"]
    assert battery[1].data.low is True
    mains = decode("<mrq><ref>2</ref><cid>1</cid><dty>2</dty><stc>85</stc></mrq>")
    assert [e.type for e in mains] == ["alarm.raised", "device.fault"]
    assert mains[1].data.kind == "mains_lost" and mains[1].data.active is True
    restored = decode("<mrq><ref>3</ref><cid>1</cid><dty>2</dty><stc>86</stc></mrq>")
    assert [(e.type, e.data.kind, e.data.active) for e in restored] == [
        ("device.fault", "mains_lost", False)]
    recharged = decode("<mrq><ref>4</ref><cid>1</cid><dty>3</dty><stc>15</stc></mrq>")
    assert [(e.type, e.data.low) for e in recharged] == [("device.battery", False)]


@pytest.mark.parametrize(("stc", "reason"), [("19", "resident"), ("92", "reset"),
                                             ("0093", "reset")])
def test_cancel_and_reset_cancel_the_units_open_alarm(stc: str, reason: str) -> None:
    body = f"<mrq><ref>60</ref><cid>1</cid><dty>3</dty><stc>{stc}</stc></mrq>"
    (ev,) = decode(body, open_alarm="scaip:unit7:55")
    assert ev.type == "alarm.cancelled" and ev.data.reason == reason
    assert ev.alarm == "scaip:unit7:55"
    (alone,) = decode(body)
    assert alone.alarm == "scaip:unit7:60"


def test_heartbeat_information_update_and_abort() -> None:
    (hb,) = decode("<mrq><ref>9</ref><mty>PI</mty><cid>1</cid><dty>2</dty></mrq>",
                   heartbeat_s="3600")
    assert hb.type == "device.heartbeat" and hb.data.interval_s == 3600
    (upd,) = decode("<mrq><ref>55</ref><mty>IN</mty><cid>1</cid><dty>51</dty>"
                    "<lco>34</lco><lge><geo>59.6,16.5</geo></lge><ite>by the river</ite></mrq>")
    assert upd.type == "alarm.updated" and upd.alarm == "scaip:unit7:55"
    assert upd.data.position.lat == 59.6 and "by the river" in upd.data.text
    assert upd.location.code == "scaip-lco:034"
    (abort,) = decode("<mrq><ref>55</ref><mty>RE</mty><cid>1</cid><dty>3</dty></mrq>")
    assert abort.type == "alarm.updated" and abort.alarm == "scaip:unit7:55"
    assert abort.data.code == "scaip:RE"


def test_location_code_and_value_become_the_envelope_location() -> None:
    (ev,) = decode("<mrq><ref>1</ref><cid>1</cid><dty>5</dty><stc>9</stc><lco>011</lco>"
                   "<lva>2</lva><lte>upstairs</lte></mrq>")
    assert ev.location.code == "scaip-lco:011"
    assert ev.location.text == "bathroom 2 upstairs"


def test_a_resent_request_gives_the_same_ids_and_a_new_session_new_ones() -> None:
    body = "<mrq><ref>55</ref><cid>678</cid><dty>3</dty><stc>10</stc></mrq>"
    first, again = decode(body), decode(body)
    assert [e.id for e in first] == [e.id for e in again]
    reused = decode(body, session="20260101T030000Z")
    assert reused[0].id != first[0].id
    assert reused[0].alarm == "scaip:unit7:55:20260101T030000Z"


def test_two_different_updates_in_one_session_are_two_events() -> None:
    a = decode("<mrq><ref>5</ref><mty>IN</mty><cid>1</cid><dty>3</dty><ite>a</ite></mrq>")
    b = decode("<mrq><ref>5</ref><mty>IN</mty><cid>1</cid><dty>3</dty><ite>b</ite></mrq>")
    assert a[0].id != b[0].id


def test_bad_body_is_a_payload_error_naming_the_unit() -> None:
    with pytest.raises(PayloadError) as err:
        decode("<mrq><ref>5</ref><cid>x</cid><dty>3</dty></mrq>")
    assert err.value.device == "unit7" and "<cid>" in str(err.value)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1024))
def test_decode_of_arbitrary_bytes_gives_events_or_a_payload_error(data: bytes) -> None:
    adapter = ScaipAdapter({})
    try:
        events = adapter.decode(RawFrame("scaip", "vasteras", "sip-udp", "sip:u@h", data, NOW))
    except PayloadError:
        return
    assert isinstance(events, list)


_CODE = st.integers(min_value=0, max_value=9999).map(str)


@settings(max_examples=300, deadline=None)
@given(dty=_CODE, stc=st.none() | _CODE, mty=st.sampled_from(["ME", "IN", "RE", "PI", "me"]),
       pri=st.none() | st.integers(0, 9).map(str), lco=st.none() | st.integers(0, 999).map(str))
def test_every_wellformed_request_decodes_to_valid_events(
    dty: str, stc: str | None, mty: str, pri: str | None, lco: str | None
) -> None:
    parts = [f"<ref>R1</ref><cid>12</cid><dty>{dty}</dty><mty>{mty}</mty>"]
    parts += [f"<{k}>{v}</{k}>" for k, v in (("stc", stc), ("pri", pri), ("lco", lco)) if v]
    events = decode("<mrq>" + "".join(parts) + "</mrq>")
    assert events and all(e.tenant == "vasteras" for e in events)
