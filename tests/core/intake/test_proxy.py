"""The PROXY protocol parser: v1 text and v2 binary, and what it refuses."""

from __future__ import annotations

import asyncio
import struct

import pytest

from gateway.core.intake.proxy import (
    SIGNATURE_V2,
    ProxyError,
    ProxyHeader,
    looks_like_header,
    parse_v1,
    read_header,
)


def v2(command: int = 0x21, family: int = 0x11, body: bytes | None = None) -> bytes:
    if body is None:
        body = bytes([198, 51, 100, 7, 203, 0, 113, 9]) + struct.pack("!HH", 51234, 12300)
    return SIGNATURE_V2 + bytes([command, family]) + struct.pack("!H", len(body)) + body


async def read(data: bytes) -> tuple[ProxyHeader, bytes]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    header = await read_header(reader)
    return header, await reader.read()


async def test_v1_tcp4_and_tcp6_give_the_clients_address_and_read_nothing_more() -> None:
    header, rest = await read(b"PROXY TCP4 198.51.100.7 203.0.113.9 51234 12300\r\nTAIL")
    assert header == ProxyHeader(1, ("198.51.100.7", 51234), ("203.0.113.9", 12300))
    assert rest == b"TAIL"
    header, _ = await read(b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 5060\r\n")
    assert header.source == ("2001:db8::1", 4000)


async def test_v1_unknown_and_v2_local_are_the_balancers_own_connection() -> None:
    assert (await read(b"PROXY UNKNOWN\r\n"))[0].source is None
    assert (await read(v2(command=0x20, body=b"")))[0].source is None


async def test_v2_ipv4_ipv6_and_tlvs_skipped() -> None:
    header, rest = await read(v2(body=bytes([10, 1, 2, 3, 10, 0, 0, 1]) +
                                 struct.pack("!HH", 40000, 12300) + b"\x04\x00\x01X") + b"\nF")
    assert header == ProxyHeader(2, ("10.1.2.3", 40000), ("10.0.0.1", 12300))
    assert rest == b"\nF"
    six = bytes(15) + b"\x05" + bytes(15) + b"\x06" + struct.pack("!HH", 1, 2)
    assert (await read(v2(family=0x21, body=six)))[0].source == ("::5", 1)


@pytest.mark.parametrize("data, reason", [
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "proxy_malformed"),
    (b"PROXY TCP4 1.2.3.4 2001:db8::1 1 2\r\n", "proxy_malformed"),
    (b"PROXY TCP4 not-an-ip 5.6.7.8 1 2\r\n", "proxy_malformed"),
    (b"PROXY TCP4 1.2.3.4\r\n", "proxy_malformed"),
    (b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "proxy_malformed"),
    (b"\n0000004C\"SIA-DCS\"0001L0#1234[]\r", "proxy_missing"),
    (b"REGISTER sip:navet SIP/2.0\r\n", "proxy_missing"),
    (SIGNATURE_V2[:11] + b"X" + bytes(4), "proxy_missing"),
    (v2(command=0x31), "proxy_malformed"),
    (v2(body=b"\x01\x02"), "proxy_malformed"),
])
async def test_what_is_not_a_believable_header_is_refused_with_its_reason(
    data: bytes, reason: str
) -> None:
    with pytest.raises(ProxyError) as err:
        await read(data)
    assert err.value.reason == reason and err.value.detail


def test_v1_line_longer_than_the_specification_allows_is_refused() -> None:
    with pytest.raises(ProxyError, match="107"):
        parse_v1(b"PROXY TCP4 " + b"1" * 100 + b"\r\n")


def test_looks_like_header_decides_only_when_it_can() -> None:
    assert looks_like_header(b"PRO") is None
    assert looks_like_header(b"PROXY ") is True
    assert looks_like_header(SIGNATURE_V2[:5]) is None
    assert looks_like_header(SIGNATURE_V2) is True
    assert looks_like_header(b"\n1234") is False
    assert looks_like_header(b"REGISTER") is False
