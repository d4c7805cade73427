"""Run the kit on one adapter: find it, its plugin and its declaration, run every check."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from gateway.core.adapters import AdapterRegistry
from gateway.core.model import CONTRACT_VERSION
from gateway.core.plugin_digest import plugin_digest
from gateway.core.plugins import GatewayPlugins, build_plugin_manager, read_manifest
from gateway.errors import PluginError

from . import behaviour, checks, fuzz
from .commands import check_commands
from .declaration import Declaration, load_declaration
from .report import Check, Report
from .subject import Subject

CHECK_IDS = ("manifest", "vectors", "events-valid", "deterministic-ids", "total-decoding",
             "commands", "heartbeat", "zones", "throughput")


def run_checks(subject: Subject, *, digest: str = "", plugin_version: str = "",
               now: datetime | None = None) -> Report:
    """Every check on ``subject``, in :data:`CHECK_IDS` order."""
    manifest = subject.cls.manifest
    report = Report(
        adapter=subject.name, plugin=subject.plugin,
        plugin_version=plugin_version or str(subject.plugin_manifest.get("version",
                                                                         manifest.version)),
        contract=CONTRACT_VERSION, digest=digest,
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
    )
    found: dict[str, Check] = {"manifest": checks.check_manifest(subject)}
    if subject.declaration is None:
        for check_id in CHECK_IDS[1:]:
            found[check_id] = checks.no_declaration(check_id, subject)
    else:
        _, sample_problems = checks.decode_samples(subject)
        found["vectors"] = checks.check_vectors(subject)
        found["total-decoding"] = fuzz.check_totality(subject, report.measurements)
        found["events-valid"] = checks.check_events(subject, sample_problems)
        found["deterministic-ids"] = checks.check_ids(subject)
        found["commands"] = check_commands(subject)
        found["heartbeat"] = behaviour.check_heartbeat(subject)
        found["zones"] = behaviour.check_zones(subject)
        found["throughput"] = behaviour.check_throughput(subject, report.measurements)
    report.checks = [found[i] for i in CHECK_IDS]
    return report


def _registry_with(name: str, cls: type[Any]) -> AdapterRegistry:
    registry = AdapterRegistry(CONTRACT_VERSION)
    registry._adapters[name] = cls  # the adapter under test, whatever its contract range
    registry._owner[name] = "conformance"
    return registry


def subject_of(plugins: GatewayPlugins, adapter: str) -> tuple[Subject, str]:
    """The registered ``adapter`` as a subject, and its plugin's digest."""
    cls = plugins.adapters.get(adapter)  # UnknownAdapterError names the known ones
    plugin = plugins.adapters.owner(adapter)
    info = plugins.infos.get(plugin)
    module: ModuleType | None = None
    digest = ""
    if info is not None and getattr(cls, "conformance_file", None) is None:
        # (an out-of-process adapter's proxy: its code is the vendor's process, not a
        # package here; its manifest and declaration sit beside each other)
        try:
            module = importlib.import_module(info.module)
            digest = plugin_digest(info.module)
        except (ImportError, PluginError):  # registered directly (embedding, tests): no files
            module = None
    try:
        declaration: Declaration | None = load_declaration(module, adapter, cls)
    except PluginError as err:
        raise PluginError(f"adapter {adapter}: {err}") from None
    subject = Subject(name=adapter, cls=cls, declaration=declaration, plugin=plugin,
                      module=module, plugin_manifest=read_manifest(module) if module else {},
                      registry=plugins.adapters)
    return subject, digest


def run_adapter(adapter: str, plugins: GatewayPlugins | None = None,
                now: datetime | None = None) -> Report:
    """The conformance report of the installed, registered ``adapter``."""
    plugins = plugins or build_plugin_manager()
    subject, digest = subject_of(plugins, adapter)
    return run_checks(subject, digest=digest, now=now)


def run_class(cls: type[Any], declaration: Declaration | None, *,
              plugin_manifest: dict[str, Any] | None = None, module: ModuleType | None = None,
              plugin: str = "?") -> Report:
    """The kit on an adapter class that is not installed (tests, a vendor's own suite)."""
    name = cls.manifest.name
    subject = Subject(name=name, cls=cls, declaration=declaration, plugin=plugin, module=module,
                      plugin_manifest=plugin_manifest or {}, registry=_registry_with(name, cls))
    return run_checks(subject)


def all_adapters(plugins: GatewayPlugins | None = None) -> list[str]:
    plugins = plugins or build_plugin_manager()
    return [name for name, _ in plugins.adapters]
