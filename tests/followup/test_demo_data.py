"""The demo municipality carries follow-up data, and a pilot that small shows no person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import gateway.demo
from gateway.core.care import apply_care_config, load_care_config
from gateway.core.directory import DeviceDirectory
from gateway.core.store import Store, make_store
from gateway.followup import read_report

DEMO = Path(gateway.demo.__file__).parent / "municipality.yaml"


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    s = make_store(database)
    s.open()
    try:
        await apply_care_config(load_care_config(DEMO), s, DeviceDirectory())
        yield s
    finally:
        s.close()


async def test_the_demo_follow_up_is_all_suppressed_counts_and_known_settings(
        store: Store) -> None:
    report = await read_report(store, "vasteras", now=datetime(2026, 3, 1, tzinfo=UTC),
                               last=date(2026, 2, 28))
    assert report is not None
    assert report["baseline"] == "2026-01-01"
    ind = {i["id"]: i for i in report["indicators"]}
    assert ind["alarms.acknowledged_median_s"]["target"] == 60  # the demo's own target
    # three people with night supervision, one with GPS: all under five, none shown
    assert ind["users.night_supervision"]["value"] is None
    assert ind["users.gps_alarm"]["value"] is None
    assert ind["skr.gps_share_80_ordinary"]["value"] is None
    assert all(r["persons"] in (0, None) for r in report["breakdown"])
