"""The plugin digest: stable for the same files, changed by any file change."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gateway.core.plugin_digest import plugin_digest, plugin_files
from gateway.errors import PluginError


def _package(root: Path, name: str) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "manifest.json").write_text('{"name": "x"}\n')
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "junk.pyc").write_bytes(b"\0\1")


def test_digest_is_stable_and_follows_every_file(tmp_path: Path, monkeypatch) -> None:
    _package(tmp_path, "digestpkg_a")
    monkeypatch.syspath_prepend(str(tmp_path))
    first = plugin_digest("digestpkg_a")
    assert first.startswith("sha256:") and len(first) == 7 + 64
    assert plugin_digest("digestpkg_a") == first
    names = [p.name for p in plugin_files("digestpkg_a")]
    assert names == ["__init__.py", "manifest.json"]  # bytecode left out

    (tmp_path / "digestpkg_a" / "__pycache__" / "more.pyc").write_bytes(b"x")
    assert plugin_digest("digestpkg_a") == first
    (tmp_path / "digestpkg_a" / "manifest.json").write_text('{"name": "y"}\n')
    changed = plugin_digest("digestpkg_a")
    assert changed != first
    (tmp_path / "digestpkg_a" / "extra.py").write_text("")
    assert plugin_digest("digestpkg_a") != changed
    sys.modules.pop("digestpkg_a", None)


def test_builtin_plugins_have_digests_and_a_missing_one_is_named() -> None:
    assert plugin_digest("plugins.alarms") != plugin_digest("plugins.locks")
    assert any(p.name == "manifest.json" for p in plugin_files("gateway.fhir.plugin"))
    with pytest.raises(PluginError, match="no_such_plugin_xyz"):
        plugin_digest("no_such_plugin_xyz")
