"""Every resource type Navet emits round-trips through fhir.resources (R5) unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources import get_fhir_model_class

from gateway.fhir import RESOURCE_TYPES, validate

from .samples import documents, resources

ALL = resources() + documents()


@pytest.mark.parametrize("resource", ALL, ids=[f"{r['resourceType']}/{r.get('id', '-')}"
                                               for r in ALL])
def test_round_trip_through_fhir_resources(resource: dict[str, Any]) -> None:
    cls = get_fhir_model_class(resource["resourceType"])
    model = cls.model_validate(resource)
    again = cls.model_validate_json(model.model_dump_json())
    assert again.model_dump(mode="json") == model.model_dump(mode="json")
    # what fhir.resources reads back is exactly what Navet wrote
    assert _normal(model.model_dump(mode="json")) == _normal(resource)
    assert validate(resource) == resource


def test_every_type_is_exercised() -> None:
    assert {r["resourceType"] for r in resources()} == set(RESOURCE_TYPES)


def _normal(node: Any) -> Any:
    """Numbers compare by value (fhir.resources reads decimals as Decimal-like floats)."""
    if isinstance(node, dict):
        return {k: _normal(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_normal(v) for v in node]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return float(node)
    return node
