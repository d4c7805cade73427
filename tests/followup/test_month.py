"""Follow-up figures for a simulated month whose true values the test knows (month.py).

Every expected value here is written down from how the month was made, or computed in
the test itself with the definition docs/followup.md gives, never by Navet's code.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.core.care import CareConfig, apply_care_config
from gateway.core.directory import DeviceDirectory
from gateway.core.store import Store, make_store
from gateway.followup import read_report, read_survey

from . import month
from .month import ALARMS, CARE, FIRST, LAST, TENANT

NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    s = make_store(database)
    s.open()
    try:
        await apply_care_config(CareConfig.model_validate(CARE), s, DeviceDirectory())
        events = month.events()
        for start in range(0, len(events), 200):
            await s.append(events[start:start + 200])
        yield s
    finally:
        s.close()


async def _report(store: Store, **kw: Any) -> dict[str, Any]:
    report = await read_report(store, TENANT, now=NOW, first=FIRST, last=LAST, **kw)
    assert report is not None
    return report


def _ind(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in report["indicators"]}


def _median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def _p90(values: list[float]) -> float:
    s = sorted(values)
    return s[math.ceil(len(s) * 9 / 10) - 1]


async def test_alarm_handling_median_and_p90(store: Store) -> None:
    report = await _report(store)
    acks = [a[2] for a in ALARMS]
    attended = [a[3] for a in ALARMS if a[3] is not None]
    closed = [a[4] for a in ALARMS if a[4] is not None]
    whole = report["alarm_handling"]["period"]
    assert whole["alarms"] == 20  # the February alarm and the technical ones do not count
    assert whole["acknowledged"] == {"n": 20, "median_s": 47.5, "p90_s": 100.0}
    assert (_median(acks), _p90(acks)) == (47.5, 100)  # the same, from the definition
    assert whole["attended"] == {"n": 19, "median_s": _median(attended),
                                 "p90_s": _p90(attended)}
    assert whole["closed"] == {"n": 19, "median_s": _median(closed), "p90_s": _p90(closed)}
    assert report["alarm_handling"]["months"] == [{"month": "2026-03", **whole}]
    ind = _ind(report)
    assert ind["alarms.acknowledged_median_s"]["value"] == 47.5
    # the municipality's own target (90 s) replaces Navet's default
    assert ind["alarms.acknowledged_median_s"]["target"] == 90
    assert ind["alarms.acknowledged_median_s"]["status"] == "green"
    assert ind["alarms.attended_p90_s"]["value"] == _p90(attended)


async def test_silent_units_and_availability_per_vendor(store: Store) -> None:
    report = await _report(store)
    hours = 31 * 24 - 1  # March in Stockholm is an hour short (summer time on the 29th)
    span = hours * 3600
    down = (90 + 30) * 60
    vendors = {v["vendor"]: v for v in report["vendors"]["vendors"]}
    assert vendors["Acme"]["devices"] == 4
    assert vendors["Acme"]["silent_alarms"] == 2
    assert vendors["Acme"]["unavailable_s"] == down
    assert vendors["Acme"]["availability_pct"] == round(100 * (1 - down / (4 * span)), 3)
    assert vendors["Lockly"] == {"vendor": "Lockly", "devices": 8, "silent_alarms": 0,
                                 "unavailable_s": 0, "availability_pct": 100.0}
    assert vendors["Geo"]["devices"] == 2
    ind = _ind(report)
    assert ind["devices.silent_alarms"]["value"] == 2
    assert ind["devices.availability"]["value"] == round(100 * (1 - down / (14 * span)), 3)


async def test_camera_checks_and_the_visits_they_replaced(store: Store) -> None:
    report = await _report(store)
    sup = report["supervision"]
    # two checks on each of the 31 nights (the 31st's 03:00 check is on 1 April, still
    # that night); 5 found a need for a visit, 2 asked for one directly
    assert sup["nights"] == 31
    assert sup["night_checks"] == 62
    assert sup["checks_per_night"] == 2.0
    assert sup["visits_replaced"] == 62 - 5 - 2
    assert sup["day_checks"] == 3
    assert sup["night_people"] == 10 and sup["day_people"] == 1
    ind = _ind(report)
    assert ind["supervision.replaced_share"]["value"] == round(100 * 55 / 62, 2)
    assert ind["supervision.replaced_share"]["status"] == "green"  # 88.7 % >= 80 %


async def test_doses(store: Store) -> None:
    ind = _ind(await _report(store))
    assert (ind["medication.dispensed"]["value"], ind["medication.taken"]["value"],
            ind["medication.missed"]["value"]) == (100, 90, 10)
    assert ind["medication.taken_share"]["value"] == 90.0
    assert ind["medication.taken_share"]["status"] == "yellow"  # target 95, yellow from 76


async def test_door_openings_per_planned_visit_and_time_in_home(store: Store) -> None:
    doors = (await _report(store))["doors"]
    planned = 8 * month.WEEKDAYS_IN_MARCH
    assert doors["planned_visits"] == planned
    assert doors["openings"] == planned + 10  # the residents' own openings do not count
    assert doors["openings_per_visit"] == round((planned + 10) / planned, 3)
    stays = [10] * 10 + [18 + 5 * (i % 3) for i in range(8)] * month.WEEKDAYS_IN_MARCH
    assert doors["stays"] == len(stays)
    assert doors["time_in_home_median_min"] == _median(stays) == 23


async def test_users_per_technology_and_the_skr_indicators(store: Store) -> None:
    report = await _report(store)
    ind = _ind(report)
    assert ind["users.gps_alarm"]["value"] == 12 + 6 + 3
    assert ind["users.night_supervision"]["value"] == 15
    assert ind["users.digital_lock"]["value"] == 8
    assert ind["users.medication_dispenser"]["value"] == 0  # the grants ended in February
    assert ind["users.social_alarm"]["value"] == 0
    assert report["users"]["baseline"]["medication_dispenser"] == 7
    assert report["users"]["baseline"]["gps_alarm"] == 12 + 3
    # SKR 1: night supervision in ordinary housing, 5 at the baseline, 15 now: +200 %
    assert ind["skr.night_supervision_growth"]["value"] == 200.0
    assert ind["skr.night_supervision_growth"]["status"] == "green"
    assert ind["skr.day_supervision_growth"]["value"] is None
    assert ind["skr.day_supervision_growth"]["status"] == "none"
    # SKR 3: 18 people 80+ in ordinary housing have GPS, of 1000 such residents: 1.8 %
    assert ind["skr.gps_share_80_ordinary"]["value"] == 1.8
    assert ind["skr.gps_share_80_ordinary"]["target"] == 2
    assert ind["skr.gps_share_80_ordinary"]["status"] == "yellow"
    assert ind["skr.dispensers_offered"]["value"] == 1  # doses were dispensed
    assert ind["skr.locks_ordinary"]["value"] == 1
    for row in report["indicators"]:
        assert set(row) >= {"id", "label", "value", "unit", "target", "status"}
        assert row["status"] in ("green", "yellow", "red", "none")


async def test_breakdown_cells_under_five_are_suppressed(store: Store) -> None:
    report = await _report(store)
    cells = {(r["point"], r["technology"], r["sex"], r["age_band"], r["housing"]): r
             for r in report["breakdown"]}
    end = "2026-03"
    assert cells[(end, "gps_alarm", "female", "80+", "ordinary")]["persons"] == 12
    small = cells[(end, "gps_alarm", "female", "65-79", "special")]
    assert small == {**small, "persons": None, "suppressed": True}  # 3 people
    # the total (21) is shown, so the next smallest cell (6 men) is hidden as well
    assert cells[(end, "gps_alarm", "male", "80+", "ordinary")]["persons"] is None
    assert cells[(end, "night_supervision", "female", "80+", "ordinary")]["persons"] == 10
    assert cells[(end, "night_supervision", "male", "80+", "ordinary")]["persons"] == 5
    # at the baseline, 12 + 3 GPS users: the 3 and then the 12 are hidden
    assert cells[("baseline", "gps_alarm", "female", "80+", "ordinary")]["persons"] is None
    assert cells[("baseline", "digital_lock", "male", "65-79", "ordinary")]["persons"] == 8
    for row in report["breakdown"]:
        assert row["persons"] is None or row["persons"] == 0 or row["persons"] >= 5


async def test_survey_export(store: Store) -> None:
    rows = await read_survey(store, TENANT, now=NOW, day=LAST)
    assert rows is not None
    got = {(r["technology"], r["housing"], r["sex"], r["item"]): r
           for r in rows}
    assert got[("gps_alarm", "ordinary", "all", "persons")]["value"] == 18
    assert got[("gps_alarm", "ordinary", "all", "offered")]["value"] == 1
    assert got[("gps_alarm", "special", "all", "persons")]["suppressed"] is True
    assert got[("digital_lock", "special", "all", "offered")]["value"] == 0
    assert got[("gps_alarm", "ordinary", "female", "persons")]["value"] == 12
    assert got[("gps_alarm", "ordinary", "male", "persons")]["value"] == 6


async def test_a_tenant_with_nothing_has_figures_and_no_denominator_note(store: Store) -> None:
    report = await read_report(store, "sala", now=NOW, first=FIRST, last=LAST)
    assert report is not None
    ind = _ind(report)
    assert ind["alarms.raised"]["value"] == 0
    assert ind["alarms.acknowledged_median_s"]["value"] is None
    assert ind["alarms.acknowledged_median_s"]["status"] == "none"
    assert "residents_80_ordinary" in ind["skr.gps_share_80_ordinary"]["note"]
    assert await read_report(store, "nowhere", now=NOW) is None


async def test_default_period_is_the_last_twelve_months(store: Store) -> None:
    report = await read_report(store, TENANT, now=NOW)
    assert report is not None
    assert report["period"] == {"from": "2025-05-01", "to": "2026-04-02",
                                "timezone": "Europe/Stockholm"}
    assert [m["month"] for m in report["alarm_handling"]["months"]][-2:] == ["2026-03",
                                                                              "2026-04"]
    assert len(report["alarm_handling"]["months"]) == 12


@pytest.mark.parametrize(("first", "last", "message"), [
    ("2026-03-31", "2026-03-01", "ends"), ("2020-01-01", "2026-03-01", "longer than"),
    (None, "0001-01-31", "outside the years"), ("2026-01-01", "9999-12-31", "outside the years"),
])
async def test_periods_that_are_not_one_are_refused(store: Store, first: str | None, last: str,
                                                    message: str) -> None:
    from datetime import date

    from gateway.followup import PeriodError

    with pytest.raises(PeriodError, match=message):
        await read_report(store, TENANT, now=NOW, last=date.fromisoformat(last),
                          first=date.fromisoformat(first) if first else None)


async def test_a_share_of_fewer_than_five_people_is_suppressed_too(store: Store) -> None:
    """1 of 1000 would tell the reader that exactly one person has it."""
    residents = [{"id": f"s-{i}", "sex": "male", "birth_year": 1930, "housing": "ordinary",
                  "grants": [{"technology": "gps_alarm", "granted": "2025-01-01"},
                             {"technology": "night_supervision", "granted": "2025-01-01"}]}
                 for i in range(3)]
    doc = {"tenants": [{"id": "sala", "name": "Sala kommun", "residents": residents,
                        "followup": {"statistics": [{"year": 2026, "residents_80_ordinary":
                                                     1000, "source": "SCB"}]}}]}
    await apply_care_config(CareConfig.model_validate(doc), store, DeviceDirectory())
    report = await read_report(store, "sala", now=NOW, first=FIRST, last=LAST)
    assert report is not None
    ind = _ind(report)
    assert ind["users.gps_alarm"]["value"] is None
    assert ind["skr.gps_share_80_ordinary"]["value"] is None
    assert "färre än 5" in ind["skr.gps_share_80_ordinary"]["note"]
    assert ind["skr.night_supervision_growth"]["value"] is None
    assert "3" not in json.dumps([ind["skr.gps_share_80_ordinary"],
                                  ind["users.gps_alarm"]])
