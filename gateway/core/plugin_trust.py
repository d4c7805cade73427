"""Which plugins a deployment trusts: signed statements about the installed files.

A plugin distribution is signed by signing a small JSON statement, ``<plugin>.json``::

    {"plugin": "alarms", "module": "plugins.alarms", "version": "0.1.0",
     "digest": "sha256:…", "files": {"alarms/__init__.py": "sha256:…", …}}

``digest`` is :func:`gateway.core.plugin_digest.plugin_digest` of the plugin as
installed; ``files`` lists each file's own SHA-256, so a plugin that no longer
matches is reported file by file (changed, added, removed). The statement is signed
like any file (``<plugin>.json.sig``, :mod:`gateway.core.security.signing`).

A plugin's status, as ``navet plugins list`` and the catalogue show it:

``signed``     a statement for it verifies with a key in the trust store and names
               exactly the files installed now;
``modified``   such a statement exists but the installed files differ from it;
``untrusted``  the statement is signed by a key that is not in the trust store;
``invalid``    the statement or its signature is broken (edited, forged, unreadable);
``unsigned``   there is no statement for it in any signatures directory.

With ``plugins.require_signed`` only ``signed`` plugins are imported at all; the
check reads the files and never runs the plugin's code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from gateway.errors import ConfigError, PluginError

from .plugin_digest import plugin_digest, plugin_files, plugin_root
from .published import CONTRACTS, SOURCE_TREE
from .security.signing import (
    SignatureError,
    TrustStore,
    signature_path,
    verify_file,
)

REPO: Final = SOURCE_TREE
BUILTIN_SIGNATURES: Final = CONTRACTS / "signatures"
"""Statements for the built-in plugins, signed with the development key (contracts/, from
the source tree or the copy a wheel carries: :mod:`.published`)."""
DEV_PUBLIC_KEY: Final = CONTRACTS / "keys" / "navet-dev.pub"


def plugin_version(module: str) -> str:
    """The version in the plugin's ``manifest.json``, read without importing it."""
    try:
        root = plugin_root(module)
        manifest = (root if root.is_dir() else root.parent) / "manifest.json"
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (PluginError, OSError, ValueError):
        return "?"
    return str(data.get("version", "?")) if isinstance(data, dict) else "?"


def _file_hashes(module: str) -> dict[str, str]:
    root = plugin_root(module)
    base = root.parent if root.is_file() else root
    return {p.relative_to(base).as_posix(): "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()
            for p in plugin_files(module)}


def statement(name: str, module: str) -> dict[str, Any]:
    """The statement that vouches for plugin ``name`` (entry point ``module``) as installed."""
    return {"plugin": name, "module": module, "version": plugin_version(module),
            "digest": plugin_digest(module), "files": _file_hashes(module)}


def write_statement(name: str, module: str, directory: Path) -> Path:
    """``DIR/<name>.json`` for the plugin as installed now (sign it next)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(statement(name, module), indent=2, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def differences(signed: dict[str, str], now: dict[str, str]) -> list[str]:
    """What changed between a statement's files and the installed ones, in words."""
    out = [f"changed {p}" for p in sorted(signed.keys() & now.keys()) if signed[p] != now[p]]
    out += [f"added {p}" for p in sorted(now.keys() - signed.keys())]
    out += [f"removed {p}" for p in sorted(signed.keys() - now.keys())]
    return out


@dataclass(frozen=True)
class Trust:
    """A plugin's signature status (see the module docstring)."""

    status: str  # signed | modified | untrusted | invalid | unsigned | unchecked
    message: str
    key_id: str | None = None
    statement: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "key_id": self.key_id, "statement": self.statement,
                "message": self.message}


UNCHECKED: Final = Trust("unchecked", "not an installed package (registered in code, or an "
                         "out-of-process adapter declared in remote_adapters): no files to sign")


@dataclass
class TrustPolicy:
    """The deployment's plugin trust: the keys, where statements are, whether required."""

    trust: TrustStore
    signatures: list[Path] = field(default_factory=list)
    require: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> TrustPolicy:
        """From ``settings.plugins`` (:class:`gateway.core.settings.PluginSettings`).

        :raises ConfigError: signing is required but the trust store has no key.
        """
        p = settings.plugins
        trust = TrustStore.from_dir(p.trust) if p.trust is not None else TrustStore.empty()
        if p.require_signed and not trust.keys:
            raise ConfigError(f"plugins.require_signed is on but the trust store "
                              f"{trust.where} holds no *.pub key: no plugin could load")
        return cls(trust, with_builtin(p.signatures), p.require_signed)

    @classmethod
    def development(cls) -> TrustPolicy:
        """What commands show without settings: the development key, the built-in statements."""
        trust = TrustStore.from_keys(DEV_PUBLIC_KEY) if DEV_PUBLIC_KEY.exists() \
            else TrustStore.empty()
        return cls(trust, with_builtin(()), False)

    def check(self, name: str, module: str) -> Trust:
        """The status of plugin ``name`` whose entry point is ``module``, as installed."""
        try:
            now = statement(name, module)
        except PluginError as err:
            return Trust("invalid", str(err))
        found: list[Trust] = []
        for directory in self.signatures:
            path = directory / f"{name}.json"
            if path.exists():
                found.append(self._check_one(name, path, now))
                if found[-1].status == "signed":
                    return found[-1]
        if found:  # the most telling failure: a trusted key that no longer matches first
            order = ("modified", "invalid", "untrusted")
            return sorted(found, key=lambda t: order.index(t.status))[0]
        where = ", ".join(str(d) for d in self.signatures) or "no signatures directory"
        return Trust("unsigned", f"plugin {name} ({module}) is not signed: no {name}.json "
                     f"statement in {where}")

    def _check_one(self, name: str, path: Path, now: dict[str, Any]) -> Trust:
        try:
            verified = verify_file(path, self.trust)
        except SignatureError as err:
            status = "untrusted" if err.kind == "untrusted" else "invalid"
            if err.kind == "unsigned":
                return Trust("invalid", f"{path} has no {signature_path(path).name}: a "
                             f"statement counts only when signed", None, str(path))
            return Trust(status, f"plugin {name}: {err}", err.key_id, str(path))
        try:
            signed = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            return Trust("invalid", f"{path} is not JSON: {err}", verified.key_id, str(path))
        if not isinstance(signed, dict) or signed.get("plugin") != name:
            return Trust("invalid", f"{path} is a statement about "
                         f"{signed.get('plugin') if isinstance(signed, dict) else '?'!r}, "
                         f"not plugin {name}", verified.key_id, str(path))
        if signed.get("digest") != now["digest"]:
            files = signed.get("files") if isinstance(signed.get("files"), dict) else {}
            what = differences(files, now["files"]) if files else []
            detail = "; ".join(what[:8]) + (f"; {len(what) - 8} more" if len(what) > 8 else "")
            return Trust("modified", f"plugin {name} ({now['module']}) is not what key "
                         f"{verified.key_id} signed in {path}: installed {now['digest']}, "
                         f"signed {signed.get('digest')}" + (f" ({detail})" if detail else ""),
                         verified.key_id, str(path))
        return Trust("signed", f"signed by key {verified.key_id} ({verified.key_file.name})",
                     verified.key_id, str(path))


def with_builtin(directories: Iterable[Path]) -> list[Path]:
    """The configured signatures directories, then the built-in statements if present."""
    out = [Path(d) for d in directories]
    if BUILTIN_SIGNATURES.is_dir() and BUILTIN_SIGNATURES not in out:
        out.append(BUILTIN_SIGNATURES)
    return out

