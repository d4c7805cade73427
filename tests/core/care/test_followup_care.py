"""Residents' sex, birth year, housing and grants, and a tenant's follow-up settings:
validated like the rest of the care configuration, stored, merged, read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.core.care import CareConfig, apply_care_config, tenant_care
from gateway.core.directory import DeviceDirectory
from gateway.core.store import Store, make_store
from gateway.errors import ConfigError

RES = {"id": "r-1", "sex": "female", "birth_year": 1941, "housing": "ordinary",
       "grants": [{"technology": "gps_alarm", "granted": "2026-01-10",
                   "decision": "SoL 4 kap. 1 §, beslut 2026-0412"}]}


def _doc(**tenant: Any) -> CareConfig:
    return CareConfig.model_validate({"tenants": [{"id": "vasteras", "name": "Västerås stad",
                                                   **tenant}]})


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    s = make_store(database)
    s.open()
    try:
        yield s
    finally:
        s.close()


@pytest.mark.parametrize(("resident", "message"), [
    ({**RES, "sex": "f"}, "sex"),
    ({**RES, "housing": "säbo"}, "housing"),
    ({**RES, "birth_year": 1850}, "birth_year"),
    ({**RES, "grants": [{"technology": "teleport", "granted": "2026-01-01"}]}, "technology"),
    ({**RES, "grants": [{"technology": "gps_alarm", "granted": "2026-02-01",
                         "ended": "2026-01-01"}]}, "is not after granted"),
    ({**RES, "grants": [{"technology": "gps_alarm", "granted": "2026-01-01"},
                        {"technology": "gps_alarm", "granted": "2026-03-01"}]},
     "two grants of gps_alarm overlap"),
])
def test_bad_resident_data_is_refused_naming_the_field(resident: dict[str, Any],
                                                       message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _doc(residents=[resident])


def test_targets_for_unknown_indicators_and_a_year_twice_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown indicator.*alarms\.speed"):
        _doc(followup={"targets": {"alarms.speed": {"target": 1}}})
    stats = {"year": 2026, "residents_80_ordinary": 10, "source": "SCB"}
    with pytest.raises(ValueError, match="2026 are given twice"):
        _doc(followup={"statistics": [stats, stats]})
    with pytest.raises(ValueError, match="source"):
        _doc(followup={"statistics": [{"year": 2026, "residents_80_ordinary": 10}]})


async def test_stored_and_merged_like_the_rest(store: Store) -> None:
    directory = DeviceDirectory()
    await apply_care_config(_doc(residents=[RES], followup={
        "baseline": "2026-01-01",
        "targets": {"skr.gps_share_80_ordinary": {"target": 3}},
        "statistics": [{"year": 2025, "residents_80_ordinary": 900, "source": "SCB 2024"}]}),
        store, directory)
    # a later document: a new year, another target, the label only for the resident
    await apply_care_config(_doc(residents=[{"id": "r-1", "label": "Lgh 3"}], followup={
        "targets": {"alarms.acknowledged_p90_s": {"target": 100}},
        "statistics": [{"year": 2026, "residents_80_ordinary": 950, "source": "SCB 2025"}]}),
        store, directory)
    care = tenant_care(store, "vasteras")
    assert care is not None
    r = care.residents[0]
    assert (r.label, r.sex, r.birth_year, r.housing) == ("Lgh 3", "female", 1941, "ordinary")
    assert [g.technology for g in r.grants] == ["gps_alarm"]
    f = care.followup
    assert str(f.baseline) == "2026-01-01"
    assert set(f.targets) == {"skr.gps_share_80_ordinary", "alarms.acknowledged_p90_s"}
    assert [s.year for s in f.statistics] == [2025, 2026]
    assert f.statistics_for(2027).residents_80_ordinary == 950  # type: ignore[union-attr]
    assert f.statistics_for(2024) is None
    # the same year again updates it
    await apply_care_config(_doc(followup={"statistics": [
        {"year": 2026, "residents_80_ordinary": 960, "source": "SCB 2025, rättad"}]}),
        store, directory)
    care = tenant_care(store, "vasteras")
    assert care is not None
    assert [(s.year, s.residents_80_ordinary) for s in care.followup.statistics] == [
        (2025, 900), (2026, 960)]


async def test_grants_given_replace_the_residents_grants(store: Store) -> None:
    directory = DeviceDirectory()
    await apply_care_config(_doc(residents=[RES]), store, directory)
    await apply_care_config(_doc(residents=[{"id": "r-1", "grants": [
        {"technology": "gps_alarm", "granted": "2026-01-10", "ended": "2026-05-01"},
        {"technology": "digital_lock", "granted": "2026-02-01"}]}]), store, directory)
    care = tenant_care(store, "vasteras")
    assert care is not None
    grants = care.residents[0].grants
    assert [(g.technology, str(g.ended)) for g in grants] == [("gps_alarm", "2026-05-01"),
                                                              ("digital_lock", "None")]
    with pytest.raises(ConfigError, match="unknown resident"):
        await apply_care_config(_doc(plans=[{"id": "p", "resident": "r-9"}]), store, directory)
