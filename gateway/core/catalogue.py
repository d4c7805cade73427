"""The adapter catalogue: what a deployment has and what it can install, and how far
each is vouched for (signature) and tested (conformance report).

Installed adapters come from the plugin host (a plugin that did not load is listed
from its ``manifest.json``, with why). Installable ones come from index files: the
built-in ``contracts/catalogue.json`` and those in ``plugins.catalogue``. Conformance
reports are read from ``contracts/conformance/`` and ``plugins.reports``; the latest
report of an adapter (by ``generated_at``) is the one shown, with whether it was made
for the files installed now (its digest) and whether its signature verifies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import ConfigError, PluginError

from .plugin_digest import plugin_digest, plugin_root
from .plugin_trust import REPO, TrustPolicy
from .plugins import GatewayPlugins
from .published import CONTRACTS
from .security.signing import SignatureError, verify_file

BUILTIN_INDEX: Final = CONTRACTS / "catalogue.json"
BUILTIN_REPORTS: Final = CONTRACTS / "conformance"


class Signature(BaseModel):
    status: Literal["signed", "modified", "untrusted", "invalid", "unsigned", "unchecked"] = \
        Field(description="signed: a trusted key vouches for exactly these files or bytes.")
    key_id: str | None = None
    message: str = Field(description="What was found, in words an operator can act on.")


class Conformance(BaseModel):
    outcome: Literal["pass", "fail"]
    date: str = Field(description="The day of the report (YYYY-MM-DD, UTC).")
    generated_at: str
    contract: str | None = Field(default=None, description="Contract version tested.")
    plugin_version: str | None = None
    digest: str | None = Field(default=None, description="Plugin digest the report names.")
    current: bool | None = Field(
        default=None, description="True when the report names the digest of the plugin "
        "installed now; false when the plugin changed since; null when not installed.")
    failed: list[str] = Field(default_factory=list, description="Ids of failed checks.")
    report: str = Field(description="The report file.")
    signature: Signature


class CatalogueEntry(BaseModel):
    adapter: str
    plugin: str | None = None
    vendor: str | None = None
    description: str | None = None
    device_kinds: list[str] = Field(default_factory=list)
    protocol: list[str] = Field(default_factory=list,
                                description="Transports and protocols it speaks.")
    contract: str | None = Field(default=None, description="Contract range, e.g. >=1.0,<2.")
    version: str | None = None
    installed: bool
    status: Literal["loaded", "refused", "blocked", "failed", "available"] = Field(
        description="available: listed in an index, not installed here.")
    reason: str | None = None
    install: str | None = Field(default=None, description="How to install it (index only).")
    signature: Signature
    conformance: Conformance | None = Field(
        description="The latest conformance report for this adapter, or null.")


class IndexEntry(BaseModel):
    """One installable adapter in a catalogue index file."""

    model_config = ConfigDict(extra="forbid")

    adapter: str
    plugin: str
    vendor: str
    description: str = ""
    device_kinds: list[str] = Field(default_factory=list)
    protocol: list[str] = Field(default_factory=list)
    contract: str
    version: str
    install: str
    source: str | None = None


def read_index(path: Path) -> list[IndexEntry]:
    """An index file: ``{"adapters": [IndexEntry, ...]}``.

    :raises ConfigError: naming the file and the entry that is wrong.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"catalogue index {path}: {err.strerror or err}") from err
    except ValueError as err:
        raise ConfigError(f"catalogue index {path} is not JSON: {err}") from err
    items = data.get("adapters") if isinstance(data, dict) else None  # "about" is a comment
    if not isinstance(items, list):
        raise ConfigError(f"catalogue index {path} needs an 'adapters' list")
    out = []
    for n, item in enumerate(items):
        try:
            out.append(IndexEntry.model_validate(item))
        except ValidationError as err:
            raise ConfigError(f"catalogue index {path}, adapters[{n}]: "
                              f"{err.errors()[0]['loc']} {err.errors()[0]['msg']}") from err
    return out


def _report_signature(path: Path, trust: TrustPolicy) -> Signature:
    try:
        verified = verify_file(path, trust.trust)
    except SignatureError as err:
        return Signature(status=err.kind, key_id=err.key_id,  # type: ignore[arg-type]
                         message=str(err))
    return Signature(status="signed", key_id=verified.key_id,
                     message=f"signed by key {verified.key_id} ({verified.key_file.name})")


def latest_reports(directories: Iterable[Path]) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Adapter -> its latest report (file, content) across ``directories``; files that
    are not reports are passed over."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(report, dict) or not isinstance(report.get("adapter"), str) \
                    or report.get("outcome") not in ("pass", "fail") \
                    or not isinstance(report.get("generated_at"), str):
                continue
            name = report["adapter"]
            if name not in found or report["generated_at"] > found[name][1]["generated_at"]:
                found[name] = (path, report)
    return found


def _conformance(found: tuple[Path, dict[str, Any]] | None, digest: str | None,
                 trust: TrustPolicy) -> Conformance | None:
    if found is None:
        return None
    path, report = found
    listed = report.get("checks")
    checks: list[Any] = listed if isinstance(listed, list) else []
    return Conformance(
        outcome=report["outcome"], date=report["generated_at"][:10],
        generated_at=report["generated_at"], contract=_text(report.get("contract")),
        plugin_version=_text(report.get("plugin_version")), digest=_text(report.get("digest")),
        current=None if digest is None else report.get("digest") == digest,
        failed=[str(c.get("id")) for c in checks
                if isinstance(c, dict) and c.get("outcome") == "fail"],
        report=_shown(path), signature=_report_signature(path, trust))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _shown(path: Path) -> str:
    """A path relative to the source tree when it is inside it, or as ``contracts/...``
    when it is in the published contract a wheel carries (stable in output)."""
    for base, prefix in ((CONTRACTS, "contracts/"), (REPO, "")):
        with contextlib.suppress(ValueError):
            return prefix + path.resolve().relative_to(base.resolve()).as_posix()
    return str(path)


def _manifest(module: str) -> dict[str, Any]:
    try:
        root = plugin_root(module)
        data = json.loads(((root if root.is_dir() else root.parent) / "manifest.json")
                          .read_text(encoding="utf-8"))
    except (PluginError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def build_catalogue(plugins: GatewayPlugins, trust: TrustPolicy, *,
                    reports: Iterable[Path] = (), indexes: Iterable[Path] = ()
                    ) -> list[CatalogueEntry]:
    """Installed adapters, then installable ones from ``indexes``, by adapter name, with
    the latest report from ``reports`` (:func:`sources` gives the usual ones)."""
    found = latest_reports(reports)
    entries: dict[str, CatalogueEntry] = {}
    for info in plugins.check_signatures(trust):
        signature = Signature.model_validate(info.signature)
        try:
            digest = plugin_digest(info.module) if info.installed else None
        except PluginError:
            digest = None
        rows = [dict(a) for a in info.adapters]
        if not rows and info.status != "loaded":  # never imported: what its manifest says
            manifest = _manifest(info.module)
            rows = [{"name": a, "vendor": None, "device_kinds": manifest.get("device_kinds", []),
                     "transports": manifest.get("transports", []),
                     "contract": manifest.get("contract")}
                    for a in manifest.get("adapters", []) if isinstance(a, str)]
        for row in rows:
            entries[row["name"]] = CatalogueEntry(
                adapter=row["name"], plugin=info.name, vendor=row.get("vendor"),
                device_kinds=list(row.get("device_kinds") or []),
                protocol=list(row.get("transports") or []), contract=row.get("contract"),
                version=info.version, installed=True,
                status=info.status,  # type: ignore[arg-type]  # PluginInfo's statuses
                reason=info.reason, signature=signature,
                conformance=_conformance(found.get(row["name"]), digest, trust))
    for index in indexes:
        for item in read_index(index):
            if item.adapter in entries:
                continue  # installed here: the installed one is what counts
            entries[item.adapter] = CatalogueEntry(
                adapter=item.adapter, plugin=item.plugin, vendor=item.vendor,
                description=item.description or None, device_kinds=item.device_kinds,
                protocol=item.protocol, contract=item.contract, version=item.version,
                installed=False, status="available", install=item.install,
                signature=Signature(status="unchecked", message="not installed here: "
                                    "verify its statement after installing it"),
                conformance=_conformance(found.get(item.adapter), None, trust))
    return sorted(entries.values(), key=lambda e: (not e.installed, e.adapter))


def sources(plugin_settings: Any | None = None) -> tuple[list[Path], list[Path]]:
    """The report directories and index files to read: the built-in ones (when this is a
    source tree), then the deployment's (``plugins.reports``, ``plugins.catalogue``)."""
    reports = [BUILTIN_REPORTS] if BUILTIN_REPORTS.is_dir() else []
    indexes = [BUILTIN_INDEX] if BUILTIN_INDEX.exists() else []
    if plugin_settings is not None:
        reports += [plugin_settings.reports] if plugin_settings.reports else []
        indexes += list(plugin_settings.catalogue)
    return reports, indexes


def catalogue_for(plugins: GatewayPlugins, settings: Any) -> list[CatalogueEntry]:
    """The catalogue as ``settings`` (its ``plugins`` section) configures it."""
    trust = plugins.trust or TrustPolicy.from_settings(settings)
    reports, indexes = sources(settings.plugins)
    return build_catalogue(plugins, trust, reports=reports, indexes=indexes)
