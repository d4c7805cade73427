"""One list of built-in plugins: the entry points in pyproject.toml.

Everything else that names the built-ins (the source-tree fallback, the installed
distribution's entry points, the plugin packages under ``plugins/``) must agree
with it, so a source tree never silently lacks a built-in.
"""

from __future__ import annotations

import importlib
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from gateway.core.plugins import BUILTIN_PLUGINS, GROUP, build_plugin_manager, builtin_plugins

ROOT = Path(__file__).resolve().parents[2]


def _entry_points() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(data["project"]["entry-points"][GROUP])


def test_the_source_tree_fallback_is_the_entry_point_list() -> None:
    assert _entry_points() == BUILTIN_PLUGINS
    assert len(BUILTIN_PLUGINS) >= 8


def test_every_plugin_package_is_an_entry_point() -> None:
    packages = {f"plugins.{p.name}" for p in (ROOT / "plugins").iterdir()
                if (p / "__init__.py").exists() and (p / "manifest.json").exists()}
    assert packages <= set(_entry_points().values())


@pytest.mark.parametrize("name", sorted(_entry_points()))
def test_each_entry_point_imports_and_has_its_manifest(name: str) -> None:
    module = importlib.import_module(_entry_points()[name])
    assert Path(module.__file__ or "").with_name("manifest.json").exists()


def test_the_installed_entry_points_are_the_same_list() -> None:
    installed = {ep.name: ep.value for ep in metadata.entry_points(group=GROUP)}
    if not installed:
        pytest.skip("Navet is not installed; the source-tree fallback is used")
    assert installed == _entry_points()


def test_a_source_tree_without_entry_points_still_loads_every_builtin(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "entry_points", lambda **_: [])
    loaded = {i.name for i in build_plugin_manager().list() if i.status == "loaded"}
    assert loaded == set(_entry_points())


def test_no_pyproject_means_no_fallback(tmp_path: Path) -> None:
    assert builtin_plugins(tmp_path / "pyproject.toml") == {}
