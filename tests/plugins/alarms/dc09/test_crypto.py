"""AES per account: CBC with zero IV, random leading pad, hex on the wire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import ValidationError

from plugins.alarms.dc09.crypto import open_message, seal, unseal
from plugins.alarms.dc09.frame import DecryptError, clear_content, encode_frame, parse_frame
from plugins.alarms.dc09.models import AccountSettings
from plugins.alarms.dc09.responses import ack

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("size", [16, 24, 32])
def test_seal_unseal_round_trip_for_every_key_size(size: int) -> None:
    key = bytes(range(size))
    content = clear_content("#1234|Nri1/MA012", (), T0)
    hexed = seal(key, content, has_data=True)
    assert hexed == hexed.upper() and len(hexed) % 32 == 0
    assert unseal(key, hexed) == content


def test_plaintext_layout_is_pad_bar_data_as_the_reference_says() -> None:
    key = bytes(16)
    hexed = seal(key, clear_content("#1234|NRP", (), T0), has_data=True)
    dec = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    plain = (dec.update(bytes.fromhex(hexed)) + dec.finalize()).decode()
    pad, rest = plain.split("|", 1)
    assert not set(pad) & set("[]|")
    assert rest == "#1234|NRP]_00:00:00,01-01-2026"
    null = seal(key, clear_content("", (), T0), has_data=False)
    dec = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    assert (dec.update(bytes.fromhex(null)) + dec.finalize()).decode().endswith(
        "]_00:00:00,01-01-2026")


def test_same_message_twice_gives_different_ciphertext() -> None:
    key = bytes(16)
    content = clear_content("#1234|NMA1", (), T0)
    assert len("|" + content) % 16 == 0  # needs no padding, and still gets some
    assert len({seal(key, content, has_data=True) for _ in range(3)}) == 3


@pytest.mark.parametrize("region", ["", "ABC", "00" * 15, "ZZ" * 16])
def test_region_that_is_not_whole_hex_blocks_is_refused(region: str) -> None:
    with pytest.raises(DecryptError, match="AES blocks"):
        unseal(bytes(16), region)


def test_wrong_key_is_a_decrypt_error() -> None:
    hexed = seal(bytes(16), clear_content("#1234|NMA1", (), T0), has_data=True)
    with pytest.raises(DecryptError, match="wrong key"):
        unseal(bytes([1]) * 16, hexed)


def test_encrypted_frame_without_key_cannot_be_opened() -> None:
    key = bytes(16)
    raw = encode_frame("SIA-DCS", 1, line="0", account="1234", encrypted=True,
                       content=seal(key, clear_content("#1234|NMA1", (), T0), has_data=True))
    frame = parse_frame(raw)
    assert frame.encrypted and frame.token == "SIA-DCS"
    with pytest.raises(DecryptError, match="no key"):
        open_message(frame, None)
    assert open_message(frame, key).data == "#1234|NMA1"


def test_encrypted_ack_decrypts_to_pad_bracket_timestamp() -> None:
    key = bytes(range(32))
    msg = parse_frame(encode_frame(
        "NULL", 5, line="0", account="1234", encrypted=True,
        content=seal(key, clear_content("", (), T0), has_data=False)))
    reply = parse_frame(ack(msg, T0, key))
    assert reply.encrypted and reply.token == "ACK"
    assert unseal(key, reply.content) == "]_00:00:00,01-01-2026"


def test_key_encodings() -> None:
    hex_key = AccountSettings(account="1234", key="00" * 16)
    assert hex_key.key_bytes() == bytes(16)
    ascii_key = AccountSettings(account="1234", key="0123456789ABCDEF", key_encoding="ascii")
    assert ascii_key.key_bytes() == b"0123456789ABCDEF"
    assert AccountSettings(account="1234", key="AB" * 32).key_bytes() == b"\xab" * 32
    with pytest.raises(ValidationError, match="16, 24 or 32 bytes"):
        AccountSettings(account="1234", key="00" * 10)
    with pytest.raises(ValidationError, match="not hex"):
        AccountSettings(account="1234", key="zz" * 16)


def _encrypt(key: bytes, plain: bytes) -> str:
    enc = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return (enc.update(plain) + enc.finalize()).hex().upper()


@pytest.mark.parametrize(
    "pad",
    [b"\x14\x15\x1f", b"\x00" * 7, b"\x7f\x1b", bytes(range(0x80, 0x8d)), b"ab[cd"],
    ids=["dc09-spt-control", "nul", "del-esc", "high-bytes", "bracket"],
)
def test_the_pad_is_not_checked_the_text_after_it_is(pad: bytes) -> None:
    key = bytes(range(16))
    text = clear_content("#1234|NMA1", (), T0).encode()
    body = b"|" + text
    pad = pad + b"x" * (-(len(pad) + len(body)) % 16)
    assert unseal(key, _encrypt(key, pad + body)) == text.decode()


def test_unprintable_text_after_the_pad_is_still_refused() -> None:
    key = bytes(range(16))
    plain = b"padpad|#1234|N\x01A1]_12:00:00,01-01-2026"
    plain = b"p" * (-len(plain) % 16) + plain
    with pytest.raises(DecryptError, match="after the pad is not printable"):
        unseal(key, _encrypt(key, plain))


def test_a_wrong_key_is_refused_whatever_the_pad() -> None:
    right, wrong = bytes(range(16)), bytes(16)
    refused = 0
    for n in range(1000):
        hexed = seal(right, clear_content(f"#1234|NMA{n}", (), T0), has_data=True)
        try:
            unseal(wrong, hexed)
        except DecryptError:
            refused += 1
    assert refused == 1000
