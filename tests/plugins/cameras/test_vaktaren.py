"""Vaktaren: decode of the units' reports, and commands that wait for the unit's answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway import FakeClock, PayloadError, RawFrame
from gateway.core.policy.cameras import CameraUnavailableError, CheckStarted
from gateway.transports.memory import MemoryBroker
from plugins.cameras.vaktaren import VaktarenAdapter

from .helpers import T0, TENANT, events, settle, tick, vaktaren_gateway, vaktaren_settings

TOPIC = "vaktaren/site-1/cam-1/event"
TS = 1768339805000  # 2026-01-13T21:30:05Z


def report(ev: str, seq: int = 7, ts: Any = TS, **fields: Any) -> str:
    return json.dumps({"seq": seq, "ts": ts, "ev": ev, **fields})


@pytest.fixture
def decode(navet_decode: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def run(payload: Any, topic: str = TOPIC) -> list[Any]:
        return navet_decode("vaktaren", topic, payload, tenant=TENANT,
                            settings=vaktaren_settings())

    return run


def test_session_start_and_end(decode: Any) -> None:
    [start] = decode(report("session_start", session="sv-1", viewer="natt-1", max_s=60))
    assert start.type == "supervision.started" and start.data.session == "sv-1"
    assert start.time == datetime(2026, 1, 13, 21, 30, 5, tzinfo=UTC)
    assert start.data.expires == datetime(2026, 1, 13, 21, 31, 5, tzinfo=UTC)
    assert start.device.id == "vaktaren:cam-1" and start.source.ref == f"cam-1:{TS}:7"
    [end] = decode(report("session_end", seq=8, session="sv-1", dur_s=19.6, end="cmd",
                          why="stopped"))
    assert (end.data.duration_s, end.data.reason) == (20, "stopped")
    [link] = decode(report("session_end", seq=9, session="sv-1", dur_s=3, end="link"))
    assert link.data.reason == "camera_lost"


def test_privacy_alive_and_fault(decode: Any) -> None:
    [p] = decode(report("privacy", state="covered"))
    assert p.type == "camera.privacy" and (p.data.state, p.data.session) == ("covered", None)
    [live] = decode(report("privacy", state="live", session="sv-1"))
    assert live.data.session == "sv-1"
    [hb] = decode(report("alive", every_s=600))
    assert hb.type == "device.heartbeat" and hb.data.interval_s == 600
    [f] = decode(report("fault", cat="power", active=True, code="PWR-1", text="mains lost"))
    assert (f.data.kind, f.data.active, f.data.code) == ("mains_lost", True, "PWR-1")


def test_the_same_report_twice_is_the_same_event(decode: Any) -> None:
    assert decode(report("alive", every_s=600))[0].id == decode(report("alive", every_s=600))[0].id


@pytest.mark.parametrize(("payload", "topic", "why"), [
    (report("alive"), "vaktaren/site-1/cam-1/state", "is not vaktaren/site-1/<unit>/event"),
    (report("alive"), "other/cam-1/event", "is not vaktaren/site-1/<unit>/event"),
    (b"\x00\x01", TOPIC, "not JSON"),
    ("17", TOPIC, "must be a JSON object"),
    (report("alive", seq=-1), TOPIC, "seq must be a non-negative integer"),
    (report("alive", ts="2026-01-13T21:30:05Z"), TOPIC, "ts must be epoch milliseconds"),
    (report("alive", ts=10**20), TOPIC, "'alive' report"),
    (report("privacy", state="recording"), TOPIC, "state must be off, covered or live"),
    (report("session_end", session="sv-1", dur_s=5, end="nope"), TOPIC, "end reason 'nope' is not one of cmd, max, link"),
    (report("session_start", session=""), TOPIC, "session must be non-empty text"),
    (report("selfdestruct"), TOPIC, "unknown report ev 'selfdestruct'"),
])
def test_bad_reports_are_refused_with_a_reason(decode: Any, payload: Any, topic: str,
                                               why: str) -> None:
    with pytest.raises(PayloadError, match=why.replace("(", r"\(")):
        decode(payload, topic)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3), max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(ev=st.sampled_from(["session_start", "session_end", "privacy", "alive", "fault", "x"]),
       fields=st.dictionaries(st.sampled_from(["session", "viewer", "max_s", "dur_s", "end",
                                               "why", "state", "every_s", "cat", "active",
                                               "code", "text", "seq", "ts"]), JSONISH,
                              max_size=6),
       raw=st.binary(max_size=60), unit=st.text(max_size=5))
def test_decode_is_total(ev: str, fields: dict[str, Any], raw: bytes, unit: str) -> None:
    adapter = VaktarenAdapter(vaktaren_settings())
    body = {"seq": 1, "ts": TS, "ev": ev, **fields}
    for topic, payload in ((TOPIC, json.dumps(body).encode()),
                           (f"vaktaren/site-1/{unit}/event", raw)):
        try:
            adapter.decode(RawFrame("vaktaren", TENANT, "mqtt", topic, payload, T0))
        except PayloadError:
            pass


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


async def test_a_unit_that_does_not_answer_makes_the_check_fail_not_hang(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    async with vaktaren_gateway(tmp_path, clock, broker) as (gw, units):
        await units.mqtt.disconnect()  # the unit is gone
        import asyncio
        attempt = asyncio.create_task(gw.supervision.start_check(TENANT, "natt-1", "r-1"))
        # ack_timeout_s is 5; advance until the attempt gives up (the policy check and the
        # audit write before the wait take real time, so a fixed advance could come too early)
        for _ in range(120):
            if attempt.done():
                break
            await tick(clock, 1, gw=gw)
        with pytest.raises(CameraUnavailableError, match="did not acknowledge start"):
            await attempt
        assert gw.supervision.sessions == {}
        entries = await gw.supervision._audit.entries(TENANT)  # type: ignore[union-attr]
        assert [e.decision for e in reversed(entries)] == ["allowed", "failed"]


async def test_a_unit_streaming_to_someone_else_refuses_and_navet_says_so(
        tmp_path: Path, clock: FakeClock, broker: MemoryBroker) -> None:
    async with vaktaren_gateway(tmp_path, clock, broker) as (gw, units):
        units.units["cam-1"].session = {"session": "other"}  # started outside Navet
        with pytest.raises(CameraUnavailableError, match="refused start: busy"):
            await gw.supervision.start_check(TENANT, "natt-1", "r-1")


async def test_the_token_opens_the_view_once(tmp_path: Path, clock: FakeClock,
                                             broker: MemoryBroker) -> None:
    async with vaktaren_gateway(tmp_path, clock, broker) as (gw, units):
        started = await gw.supervision.start_check(TENANT, "natt-1", "r-1")
        assert isinstance(started, CheckStarted)
        token = started.url.split("?t=", 1)[1]
        assert units.open_view("cam-1", token) is True
        assert units.open_view("cam-1", token) is False
        await settle(gw)
        assert [e.type for e in events(gw, "supervision.started", "camera.privacy")] == [
            "supervision.started", "camera.privacy"]
