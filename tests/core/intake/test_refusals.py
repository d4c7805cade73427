"""Refusals: always counted, logged and sampled once per source and reason per interval."""

from __future__ import annotations

import logging

import pytest

from gateway import FakeClock, RawFrame
from gateway.sdk.intake import RefusalLog
from gateway.sdk.intake import refusals as refusals_module


class Sink:
    def __init__(self) -> None:
        self.counted: list[tuple[str, str]] = []
        self.kept: list[tuple[RawFrame, str]] = []

    def listener_refused(self, listener: str, reason: str, count: int = 1) -> None:
        self.counted.extend([(listener, reason)] * count)

    async def keep_refused(self, frame: RawFrame, reason: str) -> None:
        self.kept.append((frame, reason))


def log_of(sink: Sink, clock: FakeClock, **kw: int) -> RefusalLog:
    return RefusalLog("dc09-vasteras/udp", adapter="dc09", tenant="vasteras",
                      instance="dc09-vasteras", transport="udp", sink=sink, clock=clock,
                      interval_s=60, **kw)


async def test_every_refusal_counts_but_only_the_first_per_source_is_logged_and_kept(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    sink = Sink()
    refusals = log_of(sink, clock)
    with caplog.at_level(logging.WARNING, "gateway.intake"):
        for _ in range(50):
            task = refusals.refuse("bad_crc", "10.0.0.2", detail="CRC mismatch",
                                   sample=b"\n0000garbage\r")
            if task is not None:
                await task
        await refusals.refuse("bad_crc", "10.0.0.3", sample=b"other")  # type: ignore[misc]
    assert len(sink.counted) == 51 and refusals.counts["bad_crc"] == 51
    assert [(f.address, f.payload) for f, _ in sink.kept] == [
        ("10.0.0.2", b"\n0000garbage\r"), ("10.0.0.3", b"other")]
    frame, reason = sink.kept[0]
    assert (frame.tenant, frame.adapter, frame.instance, frame.transport) == (
        "vasteras", "dc09", "dc09-vasteras", "udp")
    assert reason == "refused by listener dc09-vasteras/udp: bad_crc: CRC mismatch"
    assert len(caplog.records) == 2

    caplog.clear()
    with caplog.at_level(logging.WARNING, "gateway.intake"):
        await clock.advance(60)
        task = refusals.refuse("bad_crc", "10.0.0.2", sample=b"again")
        assert task is not None
        await task
    summary, first_again = (r.getMessage() for r in caplog.records)
    assert "refused 49 more in the last 60s" in summary and "10.0.0.2 x49" in summary
    assert "bad_crc from 10.0.0.2" in first_again
    assert sink.kept[-1][0].payload == b"again"


async def test_samples_are_bounded_per_interval_whatever_the_number_of_sources(
    clock: FakeClock
) -> None:
    sink = Sink()
    refusals = log_of(sink, clock, max_samples=3)
    tasks = [refusals.refuse("malformed_frame", f"10.0.{n // 250}.{n % 250}", sample=b"x" * 9000)
             for n in range(100)]
    for task in tasks:
        if task is not None:
            await task
    assert len(sink.kept) == 3 and len(sink.counted) == 100
    assert all(len(f.payload) == refusals_module.MAX_SAMPLE_BYTES for f, _ in sink.kept)


async def test_sources_past_the_tracking_bound_are_summed_up_not_remembered(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(refusals_module, "MAX_TRACKED", 10)
    refusals = log_of(Sink(), clock, max_samples=0)
    with caplog.at_level(logging.WARNING, "gateway.intake"):
        for n in range(30):
            refusals.refuse("udp_queue_full", f"10.0.0.{n}")
        refusals.flush()
    assert len(refusals._seen) == 0  # forgotten at the end of the interval
    assert len(caplog.records) == 11
    assert "udp_queue_full from other sources x20" in caplog.records[-1].getMessage()


def test_a_host_without_the_services_still_gets_counts(clock: FakeClock) -> None:
    refusals = log_of(object(), clock)  # type: ignore[arg-type]
    assert refusals.refuse("bad_crc", "10.0.0.2", sample=b"x") is None
    assert refusals.counts["bad_crc"] == 1
