"""What Navet emits, validated by HL7's own R5 definitions (not by fhir.resources).

See r5_definitions.py: the official hl7.fhir.r5.core package supplies the JSON
Schema and the StructureDefinitions; neither Navet nor fhir.resources is used
to decide what is valid here. The same package also checks Navet's own tables
(bound codes, reference targets) against R5.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.fhir.codes import BINDINGS, REFERENCE_TARGETS
from tests.services import unavailable

from .r5_definitions import R5Definitions, missing_reason, package_dir
from .samples import documents, resources

SUBSET_ONLY = {"Bundle.link.relation", "OperationOutcome.issue.code"}
"""Bindings whose value set is larger than what Navet ever emits."""


@pytest.fixture(scope="module")
def r5() -> R5Definitions:
    directory = package_dir()
    if directory is None:
        unavailable("the official FHIR R5 definitions (hl7.fhir.r5.core 5.0.0)",
                    missing_reason())
    assert directory is not None
    return R5Definitions(directory)


def _label(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource.get('id', '-')}"


EMITTED = resources() + documents()


@pytest.mark.parametrize("resource", EMITTED, ids=[_label(r) for r in EMITTED])
def test_emitted_resource_is_valid_by_the_official_json_schema(
    r5: R5Definitions, resource: dict[str, Any]
) -> None:
    assert r5.schema_errors(resource) == []


@pytest.mark.parametrize("resource", EMITTED, ids=[_label(r) for r in EMITTED])
def test_emitted_resource_meets_the_structure_definitions(
    r5: R5Definitions, resource: dict[str, Any]
) -> None:
    assert r5.definition_errors(resource) == []


def test_the_independent_validator_catches_what_fhir_resources_lets_through(
    r5: R5Definitions,
) -> None:
    task = {"resourceType": "Task", "status": "bogus", "owner": {"reference": "Observation/1"}}
    errors = r5.definition_errors(task)
    assert any("Task.status" in e and "bogus" in e for e in errors)
    assert any("Task.intent: required" in e for e in errors)
    assert any("Task.owner: points to Observation" in e for e in errors)
    status = {"resourceType": "SubscriptionStatus", "status": "active", "type": "heartbeat",
              "eventsSinceSubscriptionStart": 3, "subscription": {"reference": "Subscription/a"}}
    assert any("is not of type 'string'" in e for e in r5.schema_errors(status))
    assert any("'foo' was unexpected" in e
               for e in r5.schema_errors({"resourceType": "Patient", "foo": 1}))
    assert r5.schema_errors({"resourceType": "Patient", "id": "r_1"}) != []  # '_' in an id


@pytest.mark.parametrize("path", sorted(BINDINGS))
def test_navet_binding_table_agrees_with_r5(r5: R5Definitions, path: str) -> None:
    element = r5.element(path)
    assert element is not None, f"{path} is not an R5 element"
    binding = element.get("binding", {})
    assert binding.get("strength") == "required", f"{path} has no required binding in R5"
    official = r5.expand(binding["valueSet"])
    assert official is not None, f"{binding['valueSet']} cannot be expanded from the package"
    codes = {code for _, code in official}
    if path in SUBSET_ONLY:
        assert BINDINGS[path] <= codes, sorted(BINDINGS[path] - codes)
    else:
        assert BINDINGS[path] == codes, sorted(BINDINGS[path] ^ codes)


@pytest.mark.parametrize("path", sorted(REFERENCE_TARGETS))
def test_navet_reference_targets_are_allowed_by_r5(r5: R5Definitions, path: str) -> None:
    element = r5.element(path) or r5.element(path.removesuffix(".reference"))
    assert element is not None, f"{path} is not an R5 element"
    targets = {t.rsplit("/", 1)[1] for typ in element.get("type", [])
               for t in typ.get("targetProfile", [])}
    assert targets, f"{path} is not a reference"
    assert "Resource" in targets or REFERENCE_TARGETS[path] <= targets, \
        sorted(REFERENCE_TARGETS[path] - targets)


def test_every_served_type_is_covered_by_the_samples() -> None:
    from gateway.fhir.codes import RESOURCE_TYPES

    assert {r["resourceType"] for r in resources()} == set(RESOURCE_TYPES)
