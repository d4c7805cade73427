"""Navet ids become valid FHIR ids, reversibly and without collisions."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.fhir.ids import FHIR_ID, fhir_id, navet_id


@given(st.text(min_size=1, max_size=80))
def test_any_id_becomes_a_valid_fhir_id_and_back(raw: str) -> None:
    fid = fhir_id(raw)
    assert FHIR_ID.match(fid)
    back = navet_id(fid)
    assert back == raw or (back is None and fid.startswith("x.."))


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_different_ids_never_collide(a: str, b: str) -> None:
    if a != b:
        assert fhir_id(a) != fhir_id(b)


def test_examples() -> None:
    assert fhir_id("zigbee2mqtt:bed") == "zigbee2mqtt.3abed"
    assert fhir_id("r-1") == "r-1"
    assert fhir_id("r_1") == "r.5f1"
    assert fhir_id("a.b") == "a.2eb"
    assert navet_id("not..valid") is None
