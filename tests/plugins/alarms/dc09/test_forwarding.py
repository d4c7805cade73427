"""Navet as a DC-09 transmitter to an existing alarm receiving centre.

Interoperability is shown against pysiaalarm, an independent open-source
DC-09 receiver (the one Home Assistant uses), in clear and encrypted, SIA-DCS
and Contact ID. The protocol duties (NAK clock correction, retry then backup
receiver, DUH never repeated, NULL supervision) are shown against a scripted
receiver that answers what the test tells it to.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from gateway import SystemClock, TransportError, make_event
from gateway.testing import wait_until
from plugins.alarms.dc09.frame import clear_content, encode_frame, format_timestamp, parse_frame
from plugins.alarms.dc09.transmitter import Dc09ForwardSink
from tests.services import free_port, loopback_outbound

pysiaalarm = pytest.importorskip(
    "pysiaalarm.aio", reason="pip install pysiaalarm (the independent DC-09 receiver)")
from pysiaalarm import SIAAccount  # noqa: E402

WAIT = 10.0


def _alarm(kind: str = "personal_button", *, resident: str = "r-1001", alarm: str = "a-1",
           point: tuple[float, float] | None = None, etype: str = "alarm.raised") -> Any:
    location: dict[str, Any] = {"text": "Hall"}
    if point is not None:
        location["point"] = {"lat": point[0], "lon": point[1]}
    data: dict[str, Any] = {"kind": kind} if etype == "alarm.raised" else {}
    if etype == "alarm.cancelled":
        data = {"reason": "resident", "by": {"kind": "resident", "id": resident}}
    return make_event(
        etype, tenant="vasteras", time=datetime.now(UTC),
        source={"adapter": "scaip", "protocol": "scaip", "ref": f"{alarm}-{etype}"},
        device={"id": "scaip:unit-1001", "kind": "social_alarm"}, resident=resident,
        alarm=alarm, location=location, data=data,
    )


def _sink(port: int | list[int], **settings: Any) -> Dc09ForwardSink:
    ports = port if isinstance(port, list) else [port]
    conf = {"receivers": [{"host": "127.0.0.1", "port": p} for p in ports],
            "account": "1234", "ack_timeout_s": 3.0, "retry_delay_s": 0.0, **settings}
    return Dc09ForwardSink(conf, SimpleNamespace(clock=SystemClock(), subscription=None,
                                                 outbound=loopback_outbound()))


@pytest.fixture
async def sia_receiver() -> AsyncIterator[Callable[..., Any]]:
    """``await sia_receiver(key=None)`` -> (port, events): a running pysiaalarm TCP receiver."""
    clients: list[Any] = []

    async def start(key: str | None = None, account: str = "1234") -> tuple[int, list[Any]]:
        events: list[Any] = []

        async def on_event(event: Any) -> None:
            events.append(event)

        port = free_port()
        client = pysiaalarm.SIAClient("127.0.0.1", port, [SIAAccount(account, key)], on_event)
        await client.async_start()
        clients.append(client)
        await asyncio.sleep(0.05)
        return port, events

    yield start
    for client in clients:
        await client.async_stop()


async def test_sia_dcs_in_clear_reaches_an_independent_receiver(sia_receiver: Any) -> None:
    port, events = await sia_receiver()
    sink = _sink(port)
    try:
        await sink.deliver(_alarm("personal_button"))
        await sink.deliver(_alarm("technical.mains_lost", alarm="a-2"))
        await wait_until(lambda: len(events) >= 2, "2 events at the receiver")
    finally:
        await sink.aclose()
    assert [(e.account, e.code) for e in events] == [("1234", "QA"), ("1234", "AT")]
    assert sink.status()["link_up"] is True and sink.sent == 2


async def test_encrypted_sia_dcs_with_position_and_per_resident_account(
    sia_receiver: Any,
) -> None:
    key = "0123456789ABCDEF"  # pysiaalarm uses the characters themselves as AES-128 key bytes
    port, events = await sia_receiver(key=key, account="AB77")
    sink = _sink(port, key=key, key_encoding="ascii", accounts={"r-2001": "AB77"})
    try:
        await sink.deliver(_alarm("gps.panic_outside", resident="r-2001",
                                  point=(59.6099, 16.5448)))
        await wait_until(lambda: len(events) >= 1, "1 events at the receiver")
    finally:
        await sink.aclose()
    (event,) = events
    assert event.account == "AB77" and event.code == "QA"
    assert event.encrypted
    assert "X16.544800" in (event.x_data or "") and "Y59.609900" in (event.x_data or "")


async def test_contact_id_new_and_restore(sia_receiver: Any) -> None:
    port, events = await sia_receiver()
    sink = _sink(port, format="ADM-CID")
    try:
        await sink.deliver(_alarm("fall", alarm="a-9"))
        await sink.deliver(_alarm(alarm="a-9", etype="alarm.cancelled"))
        await wait_until(lambda: len(events) >= 2, "2 events at the receiver")
    finally:
        await sink.aclose()
    # pysiaalarm maps Contact ID 100 (qualifier 1 / 3) to SIA MA / MH
    assert [e.code for e in events] == ["MA", "MH"]


async def test_events_dc09_cannot_carry_are_accepted_without_sending(sia_receiver: Any) -> None:
    port, events = await sia_receiver()
    sink = _sink(port)
    try:
        await sink.deliver(make_event(
            "device.heartbeat", tenant="vasteras", time=datetime.now(UTC),
            source={"adapter": "scaip", "protocol": "scaip", "ref": "hb"},
            device={"id": "scaip:unit-1001", "kind": "social_alarm"}, data={}))
        await asyncio.sleep(0.2)
    finally:
        await sink.aclose()
    assert events == [] and sink.sent == 0


# --------------------------------------------------------------------------- scripted peer


class ScriptedReceiver:
    """A TCP DC-09 receiver that answers each frame as ``script`` says: ack, nak, duh, none."""

    def __init__(self, script: list[str], *, clock_skew: timedelta = timedelta(0)) -> None:
        self.script = list(script)
        self.skew = clock_skew
        self.frames: list[Any] = []
        self.port = free_port()
        self.server: asyncio.AbstractServer | None = None

    async def __aenter__(self) -> ScriptedReceiver:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                raw = await reader.readuntil(b"\r")
                frame = parse_frame(raw)
                self.frames.append(frame)
                what = self.script.pop(0) if self.script else "ack"
                now = datetime.now(UTC) + self.skew
                if what == "ack":
                    writer.write(encode_frame("ACK", frame.seq, line=frame.line,
                                              account=frame.account,
                                              content=clear_content("", (), now)))
                elif what == "nak":
                    writer.write(encode_frame("NAK", "0000", line="0", account=None,
                                              receiver="0",
                                              content="]_" + format_timestamp(now)))
                elif what == "duh":
                    writer.write(encode_frame("DUH", frame.seq, line=frame.line,
                                              account=frame.account, content="]"))
                elif what == "close":
                    writer.close()
                    return
                await writer.drain()  # "none": say nothing; the transmitter times out
        except (asyncio.IncompleteReadError, ConnectionError):
            pass


def _stamp(frame: Any) -> datetime:
    from plugins.alarms.dc09.frame import parse_timestamp

    return parse_timestamp(frame.content.split("_", 1)[1][:19])


async def test_nak_corrects_the_clock_and_the_same_message_is_sent_again() -> None:
    skew = timedelta(minutes=7)
    async with ScriptedReceiver(["nak", "ack"], clock_skew=skew) as rx:
        sink = _sink(rx.port)
        try:
            await sink.deliver(_alarm())
        finally:
            await sink.aclose()
    first, second = rx.frames
    assert first.seq == second.seq and first.content.split("_")[0] == second.content.split("_")[0]
    assert abs((_stamp(second) - _stamp(first)) - skew) < timedelta(seconds=5)
    assert abs(sink.offset - skew) < timedelta(seconds=5)


async def test_no_answer_is_retried_then_the_backup_receiver_takes_it() -> None:
    async with ScriptedReceiver(["none", "none"]) as primary, ScriptedReceiver([]) as backup:
        sink = _sink([primary.port, backup.port], ack_timeout_s=0.3, attempts=2)
        try:
            await sink.deliver(_alarm())
        finally:
            await sink.aclose()
    assert len(primary.frames) == 2  # tried twice (DC-09: at least one retry)
    assert len(backup.frames) == 1
    assert primary.frames[0].seq == backup.frames[0].seq


async def test_every_receiver_down_keeps_the_event_for_the_outbox() -> None:
    sink = _sink([free_port(), free_port()], ack_timeout_s=0.3)
    try:
        with pytest.raises(TransportError) as err:
            await sink.deliver(_alarm())
    finally:
        await sink.aclose()
    assert not err.value.permanent  # the outbox backs off and tries again
    # one message whatever the cause (refused, timed out), so an error cannot map ports
    assert sink.status()["link_up"] is False and "no connection to 127.0.0.1" in sink.last_error


async def test_duh_is_never_repeated_and_is_a_dead_delivery() -> None:
    async with ScriptedReceiver(["duh"]) as rx:
        sink = _sink(rx.port)
        try:
            with pytest.raises(TransportError) as err:
                await sink.deliver(_alarm())
        finally:
            await sink.aclose()
    assert err.value.permanent and "DUH" in str(err.value)
    assert len(rx.frames) == 1


async def test_null_supervision_polls_at_the_configured_interval() -> None:
    async with ScriptedReceiver([]) as rx:
        sink = _sink(rx.port, supervision_s=0.1)
        await sink.start()
        try:
            for _ in range(100):
                if len(rx.frames) >= 3:
                    break
                await asyncio.sleep(0.02)
        finally:
            await sink.aclose()
    assert len(rx.frames) >= 3 and {f.token for f in rx.frames} == {"NULL"}
    assert sink.status()["link_up"] is True


def test_settings_errors_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="receivers"):
        Dc09ForwardSink({"account": "1234", "receivers": []},
                        SimpleNamespace(clock=SystemClock(), outbound=loopback_outbound()))
    with pytest.raises(ValueError, match="16, 24 or 32"):
        Dc09ForwardSink({"account": "1234", "receivers": [{"host": "h", "port": 1}],
                         "key": "00ff"},
                        SimpleNamespace(clock=SystemClock(), outbound=loopback_outbound()))
