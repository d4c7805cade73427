"""The DC-09 receiver against dc09-spt, an independent open-source DC-09 dialler (issue 12, 5-9).

dc09-spt (PyPI ``dc09-spt``, van Ovost Automatisering, Apache-2.0) builds
every frame here: its own header (no ``L`` unless given a line, the sequence
in hex), its own AES padding (random ``chr(20..125)``, control characters
included), its own DC-03 and Contact ID payloads; and it reads our answers
with its own ``dc09answer`` (CRC, length, echoed sequence, decrypted
timestamp). Navet's own simulator plays no part.

It installs with ``pip install --no-deps dc09-spt`` next to pycryptodome (its
pycrypto pin does not build). It was written for pycrypto on Python 2, where
AES took ``str``; :class:`_StrAes` hands dc09-spt's own IV and plaintext to
pycryptodome as latin-1 bytes and changes nothing else.
"""

from __future__ import annotations

import asyncio
import importlib
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from plugins.alarms.dc09 import Dc09Adapter
from tests.services import unavailable

from .conftest import KEY_HEX

HOW = ("pip install --no-deps dc09-spt==0.0.4 and pip install pycryptodome (the [test] extras "
       "bring it); --no-deps because dc09-spt's pycrypto pin does not build")

try:
    from Crypto.Cipher import AES
    from dc09_spt.comm.transpath import TransPath
    from dc09_spt.dc09_spt import dc09_spt as Spt
    from dc09_spt.msg.dc03_msg import dc03_msg
    from dc09_spt.msg.dc05_msg import dc05_msg
    from dc09_spt.msg.dc09_msg import dc09_msg

    dc09_msg_module: Any = importlib.import_module("dc09_spt.msg.dc09_msg")
except ImportError:  # pragma: no cover - depends on the machine
    dc09_msg_module = None

KEY = bytes.fromhex(KEY_HEX)  # account 5678 (AES-256); account 1234 sends in clear


class _StrAes:
    """pycrypto's ``AES.new`` as dc09-spt calls it (``str`` IV and plaintext)."""

    MODE_CBC = 2

    class _Cipher:
        def __init__(self, cipher: Any) -> None:
            self._cipher = cipher

        def encrypt(self, data: str | bytes) -> bytes:
            raw = data.encode("latin-1") if isinstance(data, str) else data
            return bytes(self._cipher.encrypt(raw))

        def decrypt(self, data: bytes) -> bytes:
            return bytes(self._cipher.decrypt(data))

    @classmethod
    def new(cls, key: bytes, mode: int, iv: str | bytes) -> _StrAes._Cipher:
        raw_iv = iv.encode("latin-1") if isinstance(iv, str) else iv
        return cls._Cipher(AES.new(key, AES.MODE_CBC, raw_iv))


@pytest.fixture(autouse=True)
def _dc09_spt(monkeypatch: pytest.MonkeyPatch) -> None:
    if dc09_msg_module is None:
        unavailable("dc09-spt (the independent DC-09 dialler)", HOW)
    monkeypatch.setattr(dc09_msg_module, "AES", _StrAes)


@pytest.fixture
def clock() -> FakeClock:
    # dc09-spt stamps encrypted frames with the wall clock; start ours there.
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def _address(gw: Gateway, transport: str) -> tuple[str, int]:
    found = gw.adapter_instances["dc09-vasteras"]
    assert isinstance(found, Dc09Adapter)
    addr = found.tcp_address if transport == "tcp" else found.udp_address
    assert addr is not None
    return addr


def stored(gw: Gateway) -> list[Any]:
    """What the DC-09 adapter stored (not what Navet's rules derive from it, e.g. a
    technical alarm for a low battery)."""
    return [s.event for s in gw.store.query_events("vasteras", types=[])
            if s.event.source.adapter == "dc09"]


async def exchange(gw: Gateway, transport: str, block: str) -> bytes | None:
    """Send one dc09-spt block over dc09-spt's own transport; its raw answer, or None."""
    host, port = _address(gw, transport)
    path = TransPath(host, port, "0000", type=transport)

    def run() -> bytes | None:
        conn = path.connect()
        try:
            answer: bytes | None = conn.sendAndReceive(block.encode("ascii"), 1024)
            return answer
        finally:
            conn.disconnect()

    return await asyncio.to_thread(run)


def verdict(msg: dc09_msg, nr: int, answer: bytes | None) -> str:
    """dc09-spt's own reading of our answer (CRC, length, sequence, timestamp)."""
    assert answer is not None, "no answer from the receiver"
    kind, _offset = msg.dc09answer(nr, answer.decode("ascii"))
    return str(kind)


def header(answer: bytes) -> str:
    """The answer's header between the closing quote of the ID and the '['."""
    text = answer.decode("ascii")
    return text[text.index('"', 10) + 1:text.index("[")]


# --------------------------------------------------------------------------- item 5: no L


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_frames_without_line_field_are_answered_without_one(
    gateway: Gateway, transport: str
) -> None:
    msg = dc09_msg("1234")  # no receiver, no line: what dc09-spt sends by default
    block = msg.dc09block(1, "SIA-DCS", dc03_msg.dc03event("1234", {"code": "MA", "zone": "12"}))
    assert "L" not in block[block.index('"', 10):block.index("#")]  # dc09-spt omitted it
    answer = await exchange(gateway, transport, block)
    assert answer is not None and verdict(msg, 1, answer) == "ACK"
    assert header(answer) == "0001#1234"  # sequence and account echoed, no R, no L
    [event] = stored(gateway)
    assert event.type == "alarm.raised" and event.alarm == "1234-MA-12"


async def test_receiver_and_line_are_echoed_as_they_came(gateway: Gateway) -> None:
    msg = dc09_msg("1234", receiver=0x2A, line=7)
    block = msg.dc09block(2, "NULL")
    answer = await exchange(gateway, "tcp", block)
    assert answer is not None and verdict(msg, 2, answer) == "ACK"
    assert header(answer) == "0002R2AL7#1234"


async def test_duh_echoes_receiver_and_line_as_they_came(gateway: Gateway) -> None:
    msg = dc09_msg("1234", receiver=3)  # a receiver, no line
    payload = dc03_msg.dc03event("1234", {"code": "ZZ", "zone": "1"})  # no such DC-03 code
    answer = await exchange(gateway, "udp", msg.dc09block(4, "SIA-DCS", payload))
    assert answer is not None and verdict(msg, 4, answer) == "DUH"
    assert header(answer) == "0004R3#1234"


# --------------------------------------------------------------------------- item 6: AES pad


async def test_every_encrypted_frame_is_accepted_whatever_its_random_pad(
    gateway: Gateway,
) -> None:
    random.seed(12)  # dc09-spt draws its pad from the random module; make the run repeatable
    msg = dc09_msg("5678", key=KEY, line=0)  # a line, so only the pad is under test
    sent, control = 40, 0
    for nr in range(1, sent + 1):
        payload = dc03_msg.dc03event("5678", {"code": "RP"})
        block = msg.dc09block(nr, "SIA-DCS", payload)
        region = bytes.fromhex(block[block.index("[") + 1:-1])
        plain = msg.dc09decrypt(region)
        pad = plain[:plain.index(b"|")]
        control += any(b < 0x20 for b in pad)
        answer = await exchange(gateway, "tcp", block)
        assert answer is not None and answer[10:11] == b"*", answer  # an encrypted ACK
        assert verdict(msg, nr, answer) == "ACK"
    assert control >= 10, "the seeded run should pad with control characters often"
    assert len(stored(gateway)) == sent


async def test_a_wrong_key_is_still_naked(gateway: Gateway) -> None:
    msg = dc09_msg("5678", key=bytes(32))
    block = msg.dc09block(1, "SIA-DCS", dc03_msg.dc03event("5678", {"code": "MA", "zone": "1"}))
    answer = await exchange(gateway, "tcp", block)
    assert answer is not None and verdict(msg, 1, answer) == "NAK"
    assert header(answer) == "0000A0"  # no R and no L came, none go back
    assert stored(gateway) == []


# --------------------------------------------------------------------------- item 7: DC-03


async def test_ascii_text_block_after_the_event_is_kept_as_its_text(gateway: Gateway) -> None:
    msg = dc09_msg("1234", line=0)
    payload = dc03_msg.dc03event("1234", {"code": "MA", "zone": "3", "area": "1",
                                          "text": "Fallen in hallway"})
    assert payload.endswith("|AFallen in hallway]")  # dc09-spt's text block
    answer = await exchange(gateway, "tcp", msg.dc09block(1, "SIA-DCS", payload))
    assert answer is not None and verdict(msg, 1, answer) == "ACK"
    [event] = stored(gateway)
    assert event.type == "alarm.raised" and event.data.text == "Fallen in hallway"


async def test_extended_text_and_a_leading_block_separator_are_read(gateway: Gateway) -> None:
    msg = dc09_msg("1234", line=0)
    xsia = dc03_msg.dc03event("1234", {"code": "QA", "zone": "4", "text": "Bathroom",
                                       "flavor": "xsia"})
    for nr, payload in enumerate((xsia, "|Nri1/QA005]"), start=1):
        answer = await exchange(gateway, "tcp", msg.dc09block(nr, "SIA-DCS", payload))
        assert answer is not None and verdict(msg, nr, answer) == "ACK", payload
    first, second = stored(gateway)
    assert (first.type, first.alarm) == ("alarm.raised", "1234-QA-4")
    assert first.data.text is not None and "Bathroom" in first.data.text
    assert (second.type, second.alarm) == ("alarm.raised", "1234-QA-005")


async def test_sia_opening_by_user_and_water_alarm_are_read(gateway: Gateway) -> None:
    msg = dc09_msg("1234", line=0)
    opening = dc03_msg.dc03event("1234", {"code": "OP", "user": "3", "area": "1"})
    water = dc03_msg.dc03event("1234", {"code": "WA", "zone": "12"})
    for nr, payload in enumerate((opening, water), start=1):
        answer = await exchange(gateway, "tcp", msg.dc09block(nr, "SIA-DCS", payload))
        assert answer is not None and verdict(msg, nr, answer) == "ACK", payload
    opened, leak = stored(gateway)
    assert opened.type == "device.heartbeat" and opened.location.user == "3"
    assert (leak.type, leak.data.kind, leak.location.code) == (
        "alarm.raised", "passive.water_leak", "zone 12")


# --------------------------------------------------------------------------- item 8: CID


@pytest.mark.parametrize(
    ("params", "etype", "check"),
    [
        ({"code": "120", "zone": "7"}, "alarm.raised",
         lambda e: e.data.kind == "personal_button" and e.location.zone == "007"),
        ({"code": "154", "zone": "21"}, "alarm.raised",
         lambda e: e.data.kind == "passive.water_leak" and e.location.zone == "021"),
        ({"code": "401", "user": "3"}, "device.heartbeat",
         lambda e: e.location.user == "003" and e.location.zone is None),
        ({"code": "384", "zone": "9"}, "device.battery",
         lambda e: e.data.low and e.location.zone == "009"),
        ({"code": "998", "zone": "1"}, "device.fault",
         lambda e: e.data.code == "1998" and "998" in e.data.text),
        ({"code": "199", "zone": "2"}, "alarm.raised",
         lambda e: e.data.kind == "other" and e.data.code == "1199"),
    ],
    ids=["panic", "water", "closing-by-user", "rf-low-battery", "unknown", "unknown-alarm"],
)
async def test_standard_and_unknown_contact_id_codes_are_events_not_duh(
    gateway: Gateway, params: dict[str, str], etype: str, check: Any
) -> None:
    msg = dc09_msg("1234", receiver=1, line=0)
    payload = dc05_msg.dc05event("1234", params)
    answer = await exchange(gateway, "tcp", msg.dc09block(1, "ADM-CID", payload))
    assert answer is not None and verdict(msg, 1, answer) == "ACK"
    assert header(answer) == "0001R1L0#1234"
    [event] = stored(gateway)
    assert event.type == etype and check(event), event


async def test_contact_id_restore_cancels_the_alarm_its_code_raised(gateway: Gateway) -> None:
    msg = dc09_msg("1234", line=0)
    for nr, q in ((1, "1"), (2, "3")):
        payload = dc05_msg.dc05event("1234", {"code": "162", "zone": "5", "q": q})
        answer = await exchange(gateway, "tcp", msg.dc09block(nr, "ADM-CID", payload))
        assert answer is not None and verdict(msg, nr, answer) == "ACK"
    raised, cancelled = stored(gateway)
    assert (raised.type, cancelled.type) == ("alarm.raised", "alarm.cancelled")
    assert raised.alarm == cancelled.alarm == "1234-CID162-005"


# --------------------------------------------------------------------------- item 9: hex seq


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_hex_sequence_numbers_are_accepted_and_echoed(
    gateway: Gateway, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    spt = Spt("1234")
    host, port = _address(gateway, transport)
    path = TransPath(host, port, "1234", line=0, type=transport)
    results = []
    for nr in (9, 10, 11, 255):  # 0009 000A 000B 00FF: dc09-spt counts in hex
        payload = dc03_msg.dc03event("1234", {"code": "RP"})
        results.append(await asyncio.to_thread(spt.transfer_msg, nr, "SIA-DCS", payload, path))
    assert results == [True] * 4  # dc09-spt read an ACK echoing its own sequence each time
    assert len(stored(gateway)) == 4
    noted = [r for r in caplog.records if "not four decimal digits" in r.getMessage()]
    assert len(noted) == 1 and "000A" in noted[0].getMessage()  # once per account
