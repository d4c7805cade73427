"""Validation of everything the facade emits: fhir.resources, then Navet's own checks.

fhir.resources 8.x checks structure, cardinality, primitive formats and unknown
elements, but not code values (``Task.status = "bogus"`` passes) nor the type a
reference points to (``Task.owner = Observation/1`` passes). :func:`navet_issues`
checks both against :mod:`gateway.fhir.codes`:

- every ``code`` element with a required R5 binding holds a code of that binding;
- every Coding (and Quantity unit) uses a code system Navet knows, with a code
  Navet defines for it;
- every reference sits at an element Navet knows, and points to a type allowed
  there; literal references are relative ``Type/id`` with a valid FHIR id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fhir.resources import get_fhir_model_class
from pydantic import ValidationError

from gateway.errors import NavetError

from .codes import BINDINGS, CODE_SYSTEMS, REFERENCE_TARGETS

LITERAL = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with a resource: where (FHIR path) and what."""

    path: str
    message: str
    code: str = "invalid"  # OperationOutcome issue type

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class FhirValidationError(NavetError):
    """A resource is not valid R5, or breaks Navet's own rules. ``issues`` says where."""

    def __init__(self, what: str, issues: list[Issue]) -> None:
        self.what = what
        self.issues = issues
        super().__init__(f"{what} is not valid: " + "; ".join(str(i) for i in issues))


def describe(resource: Mapping[str, Any]) -> str:
    rid = resource.get("id")
    return f"{resource.get('resourceType', '?')}" + (f"/{rid}" if rid else "")


def structural_issues(resource: Mapping[str, Any]) -> list[Issue]:
    """What fhir.resources (R5) finds wrong with ``resource``."""
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str):
        return [Issue("resourceType", "missing or not a string", "structure")]
    try:
        cls = get_fhir_model_class(rtype)
    except (KeyError, ValueError):  # 8.x raises ValueError for unknown names
        return [Issue("resourceType", f"{rtype!r} is not an R5 resource type", "not-supported")]
    try:
        cls.model_validate(dict(resource))
    except ValidationError as err:
        return [
            Issue(".".join([rtype, *(str(p) for p in e["loc"])]), e["msg"], "structure")
            for e in err.errors()
        ]
    except (KeyError, ValueError, TypeError) as err:  # unknown contained resource types
        return [Issue(rtype, f"{type(err).__name__}: {err}", "structure")]
    return []


def navet_issues(resource: Mapping[str, Any]) -> list[Issue]:
    """What Navet's own checks (codes, reference targets) find wrong with ``resource``."""
    issues: list[Issue] = []
    _walk(resource, str(resource.get("resourceType", "?")), issues)
    return issues


def validate(resource: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``resource`` if it passes both fhir.resources and Navet's checks.

    :raises FhirValidationError: naming the resource and every problem found.
    """
    issues = structural_issues(resource)
    if not issues:
        issues = navet_issues(resource)
    if issues:
        raise FhirValidationError(describe(resource), issues)
    return dict(resource)


# --------------------------------------------------------------------------- walking


def _walk(node: Any, path: str, issues: list[Issue]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, path, issues)
        return
    if not isinstance(node, Mapping):
        allowed = BINDINGS.get(path)
        if allowed is not None and node not in allowed:
            issues.append(Issue(path, f"code {node!r} is not in the bound value set "
                                      f"({', '.join(sorted(allowed))})", "value"))
        return
    if "system" in node and ("code" in node):
        _check_coding(node, path, issues)
    if isinstance(node.get("reference"), str) or (
            path in REFERENCE_TARGETS and "identifier" in node and "type" in node):
        _check_reference(node, path, issues)
    for key, value in node.items():
        if key == "resourceType":
            continue
        if isinstance(value, Mapping) and isinstance(value.get("resourceType"), str):
            _walk(value, str(value["resourceType"]), issues)  # a resource inside a resource
        else:
            _walk(value, f"{path}.{key}", issues)


def _check_coding(coding: Mapping[str, Any], path: str, issues: list[Issue]) -> None:
    system, code = coding.get("system"), coding.get("code")
    known = CODE_SYSTEMS.get(str(system))
    if known is None:
        issues.append(Issue(path, f"code system {system!r} is not one Navet emits", "value"))
    elif code not in known:
        issues.append(Issue(path, f"code {code!r} is not defined in {system}", "value"))


def _check_reference(reference: Mapping[str, Any], path: str, issues: list[Issue]) -> None:
    allowed = REFERENCE_TARGETS.get(path)
    if allowed is None:
        issues.append(Issue(path, "Navet does not put references here", "structure"))
        return
    literal = reference.get("reference")
    if literal is not None:
        m = LITERAL.match(str(literal))
        if m is None:
            issues.append(Issue(path, f"reference {literal!r} is not 'Type/id'", "value"))
            return
        target = m.group(1)
        declared = reference.get("type")
        if declared is not None and declared != target:
            issues.append(Issue(path, f"type {declared!r} disagrees with {literal!r}", "value"))
    else:
        target = reference.get("type")
        if target is None:
            issues.append(Issue(path, "logical reference without 'type'", "required"))
            return
    if target not in allowed:
        issues.append(Issue(path, f"may point to {', '.join(sorted(allowed))}, "
                                  f"not {target}", "value"))
