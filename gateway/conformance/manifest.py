"""What is wrong with a plugin's ``manifest.json``, in words (as Home Assistant's hassfest)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from gateway.core.adapters import Manifest
from gateway.core.model import CONTRACT_VERSION

REQUIRED = ("domain", "name", "codeowners", "contract", "requirements", "version")


def manifest_problems(domain: str, manifest: dict[str, Any]) -> list[str]:
    """Problems of one plugin manifest (empty when there are none).

    :param domain: the plugin's name: its folder for a built-in, its entry-point name else.
    """
    problems = [f"missing key {key!r}" for key in REQUIRED if key not in manifest]
    keys = list(manifest)
    if keys[:2] != ["domain", "name"]:
        problems.append(f"keys must start with domain, name; got {keys[:2]}")
    if keys[2:] != sorted(keys[2:]):
        problems.append(f"keys after domain/name must be sorted: {keys[2:]}")
    if manifest.get("domain") != domain:
        problems.append(f"domain {manifest.get('domain')!r} is not the folder name {domain!r}")
    try:
        probe = Manifest(name="probe", vendor="-", description="-", device_kinds=(),
                         transports=(), contract=str(manifest.get("contract")))
    except ValidationError as err:
        problems.append(f"contract range: {err.errors()[0]['msg']}")
    else:
        if not probe.supports(CONTRACT_VERSION):
            problems.append(f"contract {probe.contract} excludes the running {CONTRACT_VERSION}")
    codeowners = manifest.get("codeowners")
    if not (isinstance(codeowners, list) and codeowners
            and all(isinstance(c, str) and c.startswith("@") for c in codeowners)):
        problems.append("codeowners must be a non-empty list of @handles")
    if not isinstance(manifest.get("requirements"), list):
        problems.append("requirements must be a list")
    if str(manifest.get("version", "")).count(".") != 2:
        problems.append(f"version {manifest.get('version')!r} is not MAJOR.MINOR.PATCH")
    return problems
