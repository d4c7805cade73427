"""Rotating an account's AES key without downtime: old and new keys both work meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway import PayloadError, RawFrame
from plugins.alarms.dc09.adapter import Dc09Adapter
from plugins.alarms.dc09.crypto import open_with_any, seal
from plugins.alarms.dc09.frame import clear_content, encode_frame, parse_frame

OLD = "000102030405060708090a0b0c0d0e0f"
NEW = "f0e0d0c0b0a090807060504030201000"
OTHER = "11111111111111111111111111111111"
NOW = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)


def _frame(key_hex: str) -> bytes:
    content = seal(bytes.fromhex(key_hex), clear_content("#5678|NMA001", (), NOW), has_data=True)
    return encode_frame("SIA-DCS", 7, line="0", account="5678", receiver="0",
                        content=content, encrypted=True)


def _adapter(**account: str) -> Dc09Adapter:
    return Dc09Adapter({"tcp_port": 0, "accounts": [{"account": "5678", **account}]})


def test_during_rotation_frames_with_either_key_decode_and_others_are_refused() -> None:
    adapter = _adapter(key=OLD, next_key=NEW)
    for key in (OLD, NEW):
        events = adapter.decode(RawFrame("dc09", "sala", "tcp", "127.0.0.1:1", _frame(key), NOW))
        assert [e.type for e in events] == ["alarm.raised"]
    with pytest.raises(PayloadError, match="wrong key"):
        adapter.decode(RawFrame("dc09", "sala", "tcp", "127.0.0.1:1", _frame(OTHER), NOW))


def test_the_key_that_opened_a_frame_is_the_one_to_answer_with() -> None:
    keys = [bytes.fromhex(OLD), bytes.fromhex(NEW)]
    _, used = open_with_any(parse_frame(_frame(NEW)), keys)
    assert used == bytes.fromhex(NEW)
    _, used = open_with_any(parse_frame(_frame(OLD)), keys)
    assert used == bytes.fromhex(OLD)


def test_after_rotation_the_old_key_no_longer_opens() -> None:
    adapter = _adapter(key=NEW)
    with pytest.raises(PayloadError):
        adapter.decode(RawFrame("dc09", "sala", "tcp", "127.0.0.1:1", _frame(OLD), NOW))


def test_next_key_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="next_key needs a current key"):
        _adapter(next_key=NEW)
