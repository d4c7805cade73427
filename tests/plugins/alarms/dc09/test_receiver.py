"""The DC-09 receiver end to end: the simulated transmitter -> TCP/UDP -> Gateway store."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from gateway import FakeClock, RawFrame
from gateway.core.gateway import Gateway
from gateway.errors import StoreUnavailableError
from plugins.alarms.dc09 import Dc09Adapter
from simulators.dc09 import Dc09Transmitter

from .conftest import KEY_HEX

KEY = bytes.fromhex(KEY_HEX)


def adapter(gw: Gateway) -> Dc09Adapter:
    found = gw.adapter_instances["dc09-vasteras"]
    assert isinstance(found, Dc09Adapter)
    return found


def transmitter(gw: Gateway, clock: FakeClock, transport: str, *, encrypted: bool,
                **kw: Any) -> Dc09Transmitter:
    a = adapter(gw)
    addr = a.tcp_address if transport == "tcp" else a.udp_address
    assert addr is not None
    kw.setdefault("ack_timeout", 5.0)
    kw.setdefault("retry_delay_s", 0)
    return Dc09Transmitter(
        addr[0], addr[1], transport=transport, clock=clock,
        account="5678" if encrypted else "1234", key=KEY if encrypted else None, **kw,
    )


def stored(gw: Gateway, kind: str | None = None) -> list[Any]:
    return [s.event for s in gw.store.query_events("vasteras", types=[kind] if kind else [])]


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["clear", "aes"])
async def test_alarm_restore_and_poll_are_acked_and_stored(
    gateway: Gateway, clock: FakeClock, transport: str, encrypted: bool
) -> None:
    async with transmitter(gateway, clock, transport, encrypted=encrypted) as tx:
        raised = await tx.send_sia("MA", "012")
        restored = await tx.send_cid("100", qualifier=3, zone="012")
        polled = await tx.poll()
    assert [(a.kind, a.attempts) for a in (raised, restored, polled)] == [("ACK", 1)] * 3
    account = "5678" if encrypted else "1234"
    events = stored(gateway)
    assert [e.type for e in events] == ["alarm.raised", "alarm.cancelled", "device.heartbeat"]
    alarm = events[0]
    assert alarm.device.id == f"dc09:{account}" and alarm.priority == "critical"
    assert alarm.data.kind == "personal_button" and alarm.time == clock.now()
    assert events[1].alarm == alarm.alarm == f"{account}-MA-012"
    assert events[0].source.frame is not None
    assert gateway.store.frame(events[0].source.frame) == tx.sent[0]  # wire bytes kept


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_stale_timestamp_is_naked_then_corrected(
    gateway: Gateway, clock: FakeClock, transport: str
) -> None:
    slow = FakeClock(clock.now() - timedelta(minutes=5))
    async with transmitter(gateway, slow, transport, encrypted=True) as tx:
        answer = await tx.send_sia("QA", "1")
    assert (answer.kind, answer.naks, answer.attempts) == ("ACK", 1, 2)
    assert tx.offset == timedelta(minutes=5)
    assert adapter(gateway).receiver.stats["nak"] == 1  # type: ignore[union-attr]
    [event] = stored(gateway)
    assert event.type == "alarm.raised" and event.time == clock.now()


async def test_future_timestamp_beyond_window_is_naked(gateway: Gateway, clock: FakeClock) -> None:
    fast = FakeClock(clock.now() + timedelta(seconds=21))
    async with transmitter(gateway, fast, "tcp", encrypted=False, max_corrections=0,
                           retries=0) as tx:
        answer = await tx.send_sia("MA", "1")
    assert answer.kind == "none" and answer.raw is not None and b'"NAK"' in answer.raw
    assert stored(gateway) == []


async def test_timestamp_inside_window_is_accepted(gateway: Gateway, clock: FakeClock) -> None:
    async with transmitter(gateway, FakeClock(clock.now() - timedelta(seconds=40)), "udp",
                           encrypted=False) as tx:
        assert (await tx.poll()).naks == 0


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_retransmission_is_acked_again_and_stored_once(
    gateway: Gateway, clock: FakeClock, transport: str
) -> None:
    async with transmitter(gateway, clock, transport, encrypted=True) as tx:
        first = await tx.send_sia("MA", "3")
        again = await tx._transmit(tx.sent[-1])  # the panel missed our ACK and repeats
        assert again is not None and tx._read_answer(again, first.seq)[0] == "ACK"
        wrapped = await tx.send_sia("MA", "3")  # new sequence: a new alarm message
    assert wrapped.kind == "ACK"
    assert adapter(gateway).receiver.stats["repeat"] == 1  # type: ignore[union-attr]
    assert len(stored(gateway, "alarm.raised")) == 2


async def test_repeat_after_restart_is_deduplicated_by_event_id(
    gateway: Gateway, clock: FakeClock
) -> None:
    async with transmitter(gateway, clock, "tcp", encrypted=False) as tx:
        await tx.send_sia("MA", "3")
        receiver = adapter(gateway).receiver
        assert receiver is not None
        receiver._recent.clear()  # what a restart forgets
        again = await tx._transmit(tx.sent[-1])
    assert again is not None and b'"ACK"' in again
    assert receiver.stats["ack"] == 2
    assert len(stored(gateway, "alarm.raised")) == 1


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_ack_is_withheld_when_the_store_fails_and_the_retry_lands(
    gateway: Gateway, clock: FakeClock, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_ingest = gateway.ingest
    failures = 0

    async def flaky(frame: RawFrame) -> Any:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise StoreUnavailableError("disk full")
        return await real_ingest(frame)

    monkeypatch.setattr(gateway, "ingest", flaky)
    ack_timeout = 0.5 if transport == "udp" else 5.0  # UDP: silence is the only signal
    async with transmitter(gateway, clock, transport, encrypted=True,
                           ack_timeout=ack_timeout) as tx:
        answer = await tx.send_sia("MA", "7")
    assert (answer.kind, answer.attempts) == ("ACK", 2)
    assert adapter(gateway).receiver.stats["withheld"] == 1  # type: ignore[union-attr]
    assert len(stored(gateway, "alarm.raised")) == 1


async def test_store_down_means_no_answer_at_all(
    gateway: Gateway, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(frame: RawFrame) -> Any:
        raise StoreUnavailableError("read-only file system")

    monkeypatch.setattr(gateway, "ingest", down)
    async with transmitter(gateway, clock, "tcp", encrypted=False, retries=2) as tx:
        answer = await tx.send_sia("MA", "7")
    assert (answer.kind, answer.attempts, answer.raw) == ("none", 3, None)
    assert len(tx.sent) == 3 and len(set(tx.sent)) == 1  # the same bytes each time


async def test_unknown_account_gets_duh_and_a_dead_letter(
    gateway: Gateway, clock: FakeClock
) -> None:
    addr = adapter(gateway).tcp_address
    assert addr is not None
    async with Dc09Transmitter(addr[0], addr[1], account="9999", clock=clock,
                               ack_timeout=5, retry_delay_s=0) as tx:
        answer = await tx.send_sia("MA", "1")
    assert (answer.kind, answer.attempts) == ("DUH", 1)  # and the panel does not repeat
    [dead] = gateway.store.dead_letters("vasteras")
    assert "9999" in dead["reason"] and "not configured" in dead["reason"]
    assert stored(gateway) == []


async def test_unknown_code_gets_duh(gateway: Gateway, clock: FakeClock) -> None:
    async with transmitter(gateway, clock, "udp", encrypted=False) as tx:
        answer = await tx.send_sia("ZZ", "1")  # no such DC-03 code
    assert answer.kind == "DUH"
    assert "unknown SIA event code 'ZZ'" in gateway.store.dead_letters("vasteras")[0]["reason"]


async def test_wrong_key_is_naked_and_nothing_stored(gateway: Gateway, clock: FakeClock) -> None:
    tx = transmitter(gateway, clock, "tcp", encrypted=True, retries=0, max_corrections=1)
    tx.key = bytes(32)
    async with tx:
        answer = await tx.send_sia("MA", "1")
    assert answer.kind == "none" and answer.naks == 1
    assert adapter(gateway).receiver.stats["nak"] == 2  # type: ignore[union-attr]
    assert stored(gateway) == [] and gateway.store.dead_letters("vasteras") == []


async def test_bad_crc_gets_no_answer_and_the_connection_stays_usable(
    gateway: Gateway, clock: FakeClock
) -> None:
    async with transmitter(gateway, clock, "tcp", encrypted=False) as tx:
        good = tx.frame("SIA-DCS", "#1234|NMA1", tx.next_seq())
        bad = good[:1] + (b"0000" if good[1:5] != b"0000" else b"1111") + good[5:]
        addr = adapter(gateway).tcp_address
        assert addr is not None
        reader, writer = await asyncio.open_connection(*addr)
        try:
            writer.write(bad + good)
            await writer.drain()
            reply = await asyncio.wait_for(reader.readuntil(b"\r"), 5)
        finally:
            writer.close()
    assert b'"ACK"' in reply and b"#1234" in reply  # the only answer is for the good frame
    assert adapter(gateway).receiver.stats["silent"] == 1  # type: ignore[union-attr]
    assert len(stored(gateway)) == 1


async def test_oversized_tcp_input_closes_the_connection(gateway: Gateway) -> None:
    addr = adapter(gateway).tcp_address
    assert addr is not None
    reader, writer = await asyncio.open_connection(*addr)
    try:
        writer.write(b"\n" + b"A" * 10_000)
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
    finally:
        writer.close()
