"""Every plugin folder is a well-formed integration, as Home Assistant's hassfest checks.

A plugin's ``manifest.json`` is what ``navet plugins list``, operators and the
marketplace read without importing any code, so it must agree with what the
code actually registers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway import CONTRACT_VERSION, Manifest
from gateway.conformance.manifest import manifest_problems
from gateway.core.plugins import GatewayPlugins, build_plugin_manager

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"
PLUGINS = sorted(p for p in PLUGINS_DIR.iterdir() if (p / "__init__.py").exists())


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    assert path.exists(), f"plugins/{folder.name} has no manifest.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def plugins() -> GatewayPlugins:
    return build_plugin_manager()


def test_there_are_plugins_to_check() -> None:
    assert {p.name for p in PLUGINS} >= {"alarms", "northbound"}


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda p: p.name)
def test_manifest_is_well_formed(folder: Path) -> None:
    assert manifest_problems(folder.name, _manifest(folder)) == []


@pytest.mark.parametrize("folder", PLUGINS, ids=lambda p: p.name)
def test_manifest_lists_exactly_the_adapters_and_sinks_the_plugin_registers(
    folder: Path, plugins: GatewayPlugins
) -> None:
    manifest = _manifest(folder)
    info = next(i for i in plugins.list() if i.module == f"plugins.{folder.name}")
    assert info.status == "loaded", info.reason
    registered = sorted(a["name"] for a in info.adapters)
    assert sorted(manifest.get("adapters", [])) == registered
    assert sorted(manifest.get("sinks", [])) == sorted(info.sinks)
    for name in registered:
        adapter = plugins.adapters.get(name).manifest
        assert isinstance(adapter, Manifest)
        assert adapter.supports(CONTRACT_VERSION), f"{name}: {adapter.contract}"
        assert set(str(k) for k in adapter.device_kinds) <= set(
            manifest.get("device_kinds", [])
        ), f"{name} produces device kinds its plugin manifest does not declare"


def test_the_checker_catches_a_bad_manifest() -> None:
    bad = {"name": "Locks", "domain": "lockz", "version": "1", "contract": "1.0",
           "zeta": 1, "alpha": 2, "codeowners": ["navet"]}
    problems = manifest_problems("locks", bad)
    assert "missing key 'requirements'" in problems
    assert "keys must start with domain, name; got ['name', 'domain']" in problems
    assert any(p.startswith("keys after domain/name must be sorted") for p in problems)
    assert "domain 'lockz' is not the folder name 'locks'" in problems
    assert any(p.startswith("contract range: Value error, contract range must look like")
               for p in problems)
    assert "codeowners must be a non-empty list of @handles" in problems
    assert "version '1' is not MAJOR.MINOR.PATCH" in problems


def test_the_checker_catches_a_range_that_excludes_the_running_contract() -> None:
    manifest = {"domain": "x", "name": "X", "codeowners": ["@a"], "contract": ">=2.0,<3",
                "requirements": [], "version": "0.1.0"}
    assert manifest_problems("x", manifest) == [
        f"contract >=2.0,<3 excludes the running {CONTRACT_VERSION}"
    ]
