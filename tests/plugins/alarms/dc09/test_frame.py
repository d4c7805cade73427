"""DC-09 framing: CRC-16/ARC, length, header fields, responses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway import PayloadError
from plugins.alarms.dc09.frame import (
    CRC_TABLE,
    FramingError,
    clear_content,
    crc16,
    encode_frame,
    parse_frame,
    split_content,
)
from plugins.alarms.dc09.responses import ack, duh, nak

T0 = datetime(2026, 1, 1, 12, 30, 5, tzinfo=UTC)

# Frames as real panels sent them (PROSEC, HIKVISION and an unnamed panel), quoted
# in the comments of a public DC-09 receiver; CRC and length are the panels' own.
FIELD_FRAMES = [
    'B0970029"NULL"0000L000#0809[]_21:00:01,02-20-2024',
    'F68B003B"ADM-CID"0028L0#9757[#9757|1602 00 000]_20:59:45,02-20-2024',
    'B4330036"SIA-DCS"0442L000#36214[36214|NRP]_00:00:00,02-21-2024',
    '3F60003C"SIA-DCS"0001L0#51449[#51449|Nri0000/LR]_21:26:19,12-20-2023',
    '7B620035"SIA-DCS"0005L000#3044[3044|NOP1]_00:03:31,12-21-2023',
    '99820040"ADM-CID"1937R15L1#21401[#21401|1602 00 000]_20:59:59,02-20-2024',
    '37070047"SIA-DCS"0038R0L0#10303117[#10303117|Nri0001/BH005]_13:44:48,08-17-2022',
]


def test_crc_is_crc16_arc_with_the_reference_check_value() -> None:
    assert crc16(b"123456789") == 0xBB3D
    assert crc16(b"") == 0


def test_crc_table_has_the_corrected_dc07_entry_101() -> None:
    # DC-07's printed table has 0xBE01 as its 101st entry; the right value is 0xEB01.
    assert CRC_TABLE[100] == 0xEB01


def test_crc_is_not_xmodem() -> None:
    assert crc16(b"123456789") != 0x31C3  # the CRC-16/XMODEM check value


@pytest.mark.parametrize("line", FIELD_FRAMES)
def test_frames_from_real_panels_pass_crc_and_length(line: str) -> None:
    frame = parse_frame(b"\n" + line.encode() + b"\r")
    assert frame.account == line.split("#")[1].split("[")[0]
    assert encode_frame(
        frame.token, frame.seq, line=frame.line, account=frame.account,
        content=frame.content, receiver=frame.receiver,
    ) == b"\n" + line.encode() + b"\r"


def test_round_trip_keeps_every_field() -> None:
    raw = encode_frame("SIA-DCS", 42, line="2", account="12AB", receiver="7F",
                       content=clear_content("#12AB|Nri1/MA012", ("X018E04.3",), T0))
    assert raw.startswith(b"\n") and raw.endswith(b"\r")
    assert raw[5:9] == b"%04X" % (len(raw) - 10)
    frame = parse_frame(raw)
    assert (frame.token, frame.seq, frame.receiver, frame.line, frame.account) == (
        "SIA-DCS", "0042", "7F", "2", "12AB")
    assert not frame.encrypted
    data, xdata, stamp = split_content(frame.content)
    assert (data, xdata, stamp) == ("#12AB|Nri1/MA012", ("X018E04.3",), "12:30:05,01-01-2026")


def test_lenient_framing_bytes_and_hex_case() -> None:
    raw = encode_frame("NULL", 1, line="0", account="abc", content=clear_content("", (), T0))
    assert parse_frame(raw.strip()).account == "ABC"
    lower = raw[:1] + raw[1:9].lower() + raw[9:]
    assert parse_frame(lower).seq == "0001"


def test_account_missing_from_header_is_read_from_the_data() -> None:
    raw = encode_frame("SIA-DCS", 3, line="0", account=None, content=clear_content("#4711|NRP"))
    assert parse_frame(raw).account == "4711"


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda r: r[:1] + b"0000" + r[5:], "CRC mismatch"),
        (lambda r: r[:-3] + r[-2:], "length field says"),
        (lambda r: r[:1] + b"ZZZZ" + r[5:], "8 hex characters"),
        (lambda r: b"\n12", "too short"),
        (lambda r: r.replace(b'"SIA-DCS"0001', b'"SIA-DCS"01'), "length field"),
    ],
)
def test_broken_frames_name_what_is_wrong(mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    raw = encode_frame("SIA-DCS", 1, line="0", account="1234",
                       content=clear_content("#1234|NMA1", (), T0))
    with pytest.raises(FramingError, match=reason) as info:
        parse_frame(mangle(raw))
    assert isinstance(info.value, PayloadError)
    assert info.value.adapter == "dc09"


def test_header_without_sequence_is_refused() -> None:
    body = b'"SIA-DCS"L0#1234[#1234|NMA1]'
    raw = b"\n%04X%04X%s\r" % (crc16(body), len(body), body)
    with pytest.raises(FramingError, match="header"):
        parse_frame(raw)


def test_content_errors_name_the_part() -> None:
    with pytest.raises(PayloadError, match="no closing"):
        split_content("#1234|NMA1")
    with pytest.raises(PayloadError, match="unexpected"):
        split_content("#1234|NMA1]junk")


def test_nak_has_fixed_header_and_our_time() -> None:
    raw = nak(T0)
    assert raw[9:-1] == b'"NAK"0000R0L0A0[]_12:30:05,01-01-2026'
    frame = parse_frame(raw)  # our own NAK passes our own CRC and length checks
    assert frame.token == "NAK" and frame.seq == "0000"


def test_ack_and_duh_echo_sequence_receiver_line_and_account() -> None:
    msg = parse_frame(encode_frame("ADM-CID", 9998, line="3", account="5555", receiver="12",
                                   content=clear_content("#5555|1100 01 015", (), T0)))
    reply = parse_frame(ack(msg, T0))
    assert (reply.token, reply.seq, reply.receiver, reply.line, reply.account) == (
        "ACK", "9998", "12", "3", "5555")
    assert split_content(reply.content) == ("", (), "12:30:05,01-01-2026")
    refused = parse_frame(duh(msg))
    assert (refused.token, refused.seq, refused.account) == ("DUH", "9998", "5555")


# --------------------------------------------------------------------------- variants (issue 12)


def _raw(body: bytes) -> bytes:
    return b"\n%04X%04X%s\r" % (crc16(body), len(body), body)


def test_header_without_line_reads_as_no_line_and_is_answered_without_one() -> None:
    msg = parse_frame(_raw(b'"SIA-DCS"0007R5#1234[#1234|NMA1]'))
    assert (msg.seq, msg.receiver, msg.line, msg.account) == ("0007", "5", None, "1234")
    assert ack(msg, T0)[9:].startswith(b'"ACK"0007R5#1234[')
    assert duh(msg)[9:].startswith(b'"DUH"0007R5#1234[')
    bare = parse_frame(_raw(b'"NULL"0001#1234[]'))
    assert (bare.receiver, bare.line) == (None, None)
    assert nak(T0, bare)[9:-1] == b'"NAK"0000A0[]_12:30:05,01-01-2026'
    assert parse_frame(nak(T0, bare)).token == "NAK"  # our own transmitter reads it


def test_nak_echoes_receiver_and_line_as_they_came() -> None:
    msg = parse_frame(_raw(b'"SIA-DCS"0001R1L232#1234[#1234|NMA1]'))
    assert nak(T0, msg)[9:-1] == b'"NAK"0000R1L232A0[]_12:30:05,01-01-2026'


@pytest.mark.parametrize("seq", ["000A", "00ff", "12", "9"])
def test_sequence_in_hex_or_short_is_read_and_echoed_as_it_came(seq: str) -> None:
    msg = parse_frame(_raw(b'"NULL"%sL0#1234[]' % seq.encode()))
    assert msg.seq == seq and not msg.standard_seq
    assert parse_frame(ack(msg, T0)).seq == seq
    assert parse_frame(_raw(b'"NULL"0042L0#1234[]')).standard_seq
