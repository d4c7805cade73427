"""Navet's own checks catch what fhir.resources lets through: codes and reference targets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.fhir import FhirValidationError, navet_issues, structural_issues, validate

from .samples import resources


def sample(resource_type: str) -> dict[str, Any]:
    return copy.deepcopy(next(r for r in resources() if r["resourceType"] == resource_type))


def test_fhir_resources_alone_accepts_a_bogus_status_and_a_wrong_reference() -> None:
    task = sample("Task")
    task["status"] = "bogus"
    task["owner"] = {"reference": "Observation/1"}
    assert structural_issues(task) == []  # the gap Navet's checks close
    messages = [str(i) for i in navet_issues(task)]
    assert any(m.startswith("Task.status: code 'bogus'") for m in messages)
    assert any(m.startswith("Task.owner: may point to") and "not Observation" in m
               for m in messages)
    with pytest.raises(FhirValidationError, match=r"Task/.* is not valid"):
        validate(task)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda r: r["businessStatus"]["coding"][0].update(code="lost"),
     "code 'lost' is not defined in urn:navet:fhir:CodeSystem:alarm-state"),
    (lambda r: r["code"]["coding"][0].update(system="http://example.org/x"),
     "code system 'http://example.org/x' is not one Navet emits"),
    (lambda r: r.update({"for": {"reference": "Patient/r 1"}}), "is not 'Type/id'"),
    (lambda r: r.update({"location": {"reference": "Device/x"}}), "not Device"),
    (lambda r: r.update({"owner": {"type": "Device", "identifier": {"value": "x"}}}),
     "not Device"),
    (lambda r: r.update({"for": {"type": "Device", "reference": "Patient/x"}}), "disagrees"),
    (lambda r: r.update({"intent": "wish"}), "Task.intent: code 'wish'"),
])
def test_each_rule(mutate: Any, expected: str) -> None:
    task = sample("Task")
    mutate(task)
    assert any(expected in str(i) for i in navet_issues(task)), navet_issues(task)


def test_references_inside_contained_resources_are_checked_by_their_own_type() -> None:
    obs = sample("Observation")
    obs["device"] = {"reference": "Patient/x"}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": obs}]}
    assert [i.path for i in navet_issues(bundle)] == ["Observation.device"]


def test_structural_problems_name_the_element() -> None:
    ma = sample("MedicationAdministration")
    ma["occurrenceDateTime"] = ma.pop("occurenceDateTime")  # the R4 spelling
    paths = [i.path for i in structural_issues(ma)]
    assert any("occurrenceDateTime" in p for p in paths)
    assert structural_issues({"resourceType": "DeviceUseStatement"})[0].code == "not-supported"
