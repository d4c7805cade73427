"""The digest of an installed plugin: what a conformance report and a signature name.

A plugin is the package its entry point names (``plugins.alarms``) or, for a
module inside a package (``gateway.fhir.plugin``), that module's package. Its
digest is SHA-256 over every file of that package in sorted relative-path
order, each entered as ``path NUL length NUL bytes``, leaving out bytecode
caches. The same files give the same digest on any machine and in any install
mode (editable, wheel, source tree); one changed, added or removed file changes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from gateway.errors import PluginError

_SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


def plugin_root(module: str) -> Path:
    """The directory (or single file) that holds the plugin named by ``module``."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise PluginError(f"plugin module {module!r} is not installed")
    origin = Path(spec.origin)
    if spec.submodule_search_locations:  # a package: its directory
        return origin.parent
    if origin.parent.joinpath("__init__.py").exists():  # a module inside a package
        return origin.parent
    return origin


def plugin_files(module: str) -> list[Path]:
    """Every file that belongs to the plugin, sorted by relative path."""
    root = plugin_root(module)
    if root.is_file():
        return [root]
    files = [
        p
        for p in root.rglob("*")
        if p.is_file()
        and not _SKIP_DIRS.intersection(p.relative_to(root).parts)
        and not p.name.endswith(_SKIP_SUFFIXES)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def plugin_digest(module: str) -> str:
    """``sha256:<hex>`` over the plugin's files (see the module docstring)."""
    root = plugin_root(module)
    base = root.parent if root.is_file() else root
    h = hashlib.sha256()
    for path in plugin_files(module):
        data = path.read_bytes()
        h.update(path.relative_to(base).as_posix().encode("utf-8"))
        h.update(b"\0" + str(len(data)).encode("ascii") + b"\0")
        h.update(data)
    return "sha256:" + h.hexdigest()
