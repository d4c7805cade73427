"""The plugin host: builds the pluggy manager and is the only caller of hooks.

Built-in plugins are found through the ``navet`` entry-point group exactly like
third-party ones; the one list of them is ``[project.entry-points.navet]`` in
``pyproject.toml``. When Navet runs from a source tree that was never installed
(no entry points), :data:`BUILTIN_PLUGINS` reads that same list from the tree's
``pyproject.toml``, and the built-ins go through the same block list.
"""

from __future__ import annotations

import importlib
import json
import logging
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Final

import pluggy

from gateway.errors import PluginError
from gateway.sdk import hookspecs

from .adapters import AdapterRegistry
from .model import CONTRACT_VERSION, EventBase
from .plugin_trust import UNCHECKED, TrustPolicy, plugin_version
from .sinks import SinkRegistry

log = logging.getLogger(__name__)

GROUP: Final = "navet"
PYPROJECT: Final = Path(__file__).resolve().parents[2] / "pyproject.toml"


def builtin_plugins(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """The built-in plugins as the source tree's ``pyproject.toml`` names them
    (``[project.entry-points.navet]``); empty where there is no such file (a wheel)."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    found = data.get("project", {}).get("entry-points", {}).get(GROUP, {})
    return {str(k): str(v) for k, v in found.items()}


BUILTIN_PLUGINS: Final = builtin_plugins()
"""Fallback for a source tree whose entry points were never installed."""


@dataclass
class PluginInfo:
    """What ``navet plugins list`` shows for one plugin."""

    name: str
    module: str
    version: str = "?"
    contract: str = "?"
    status: str = "loaded"  # loaded | blocked | refused | failed
    installed: bool = True  # False: registered in code (build_plugin_manager's extra)
    reason: str | None = None
    adapters: list[dict[str, Any]] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)
    signature: dict[str, Any] | None = None  # plugin_trust.Trust.as_dict(), once checked

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "version": self.version,
            "contract": self.contract,
            "status": self.status,
            "reason": self.reason,
            "adapters": self.adapters,
            "sinks": self.sinks,
            "signature": self.signature,
        }


def read_manifest(module: ModuleType) -> dict[str, Any]:
    """The ``manifest.json`` beside a plugin package, or ``{}`` if there is none."""
    file = getattr(module, "__file__", None)
    if not file:
        return {}
    path = Path(file).with_name("manifest.json")
    if not path.exists():
        return {}
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise PluginError(f"plugin {module.__name__}: manifest.json is not JSON: {err}") from err
    return data


class GatewayPlugins:
    """Typed calls into the plugin hooks; the only way core code reaches them."""

    def __init__(self, pm: pluggy.PluginManager, infos: dict[str, PluginInfo],
                 trust: TrustPolicy | None = None) -> None:
        self._pm = pm
        self.infos = infos
        self.trust = trust
        self.adapters = AdapterRegistry(CONTRACT_VERSION)
        self.sinks = SinkRegistry()
        self._register()

    def _register(self) -> None:
        for name, plugin in self._pm.list_name_plugin():
            if plugin is None:
                continue
            info = self.infos[name]
            before = set(n for n, _ in self.adapters)
            refused_before = set(self.adapters.refused)
            self.adapters.current_plugin = name
            hook = getattr(plugin, "navet_register_adapters", None)
            if hook is not None:
                hook(registry=self.adapters)
            for adapter_name, cls in self.adapters:
                if adapter_name not in before:
                    m = cls.manifest
                    info.adapters.append(
                        {
                            "name": m.name,
                            "vendor": m.vendor,
                            "device_kinds": [str(k) for k in m.device_kinds],
                            "transports": list(m.transports),
                            "contract": m.contract,
                            "commands": list(m.commands),
                        }
                    )
            refused = set(self.adapters.refused) - refused_before
            if refused and not info.adapters:
                info.status = "refused"
            if refused:
                info.reason = "; ".join(self.adapters.refused[r] for r in sorted(refused))
                for r in sorted(refused):
                    log.warning("plugin %s: %s", name, self.adapters.refused[r])
            sink_hook = getattr(plugin, "navet_register_sinks", None)
            if sink_hook is not None:
                before_s = {k for k, _ in self.sinks}
                sink_hook(registry=self.sinks)
                info.sinks = sorted({k for k, _ in self.sinks} - before_s)

    def event_stored(self, event: EventBase) -> None:
        try:
            self._pm.hook.navet_event_stored(event=event)
        except Exception:  # a plugin bug must not stop the pipeline
            log.exception("navet_event_stored failed for event %s", event.id)

    def event_to_fhir(self, event: EventBase) -> Any | None:
        return self._pm.hook.navet_event_to_fhir(event=event)

    def list(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda i: i.name)

    def check_signatures(self, trust: TrustPolicy | None = None) -> Sequence[PluginInfo]:
        """Every plugin with its signature status filled in (reads each plugin's files
        once; a plugin registered in code is ``unchecked``)."""
        policy = trust or self.trust or TrustPolicy.development()
        for info in self.infos.values():
            if info.signature is None:
                info.signature = (policy.check(info.name, info.module).as_dict()
                                  if info.installed else UNCHECKED.as_dict())
        return self.list()


def build_plugin_manager(
    disabled: Iterable[str] = (), extra: Iterable[tuple[str, ModuleType | object]] = (),
    trust: TrustPolicy | None = None,
) -> GatewayPlugins:
    """Build the plugin host: specs, block list, entry points, built-ins, checks.

    :param disabled: Plugin names to block, whatever their source.
    :param extra: ``(name, plugin)`` pairs registered directly (tests, embedding); they
        are the embedder's own code and are not signature-checked.
    :param trust: The deployment's plugin trust. When it requires signatures, a plugin
        whose installed files no trusted key signed is refused before it is imported.
    """
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for name in disabled:
        pm.set_blocked(name)

    found: dict[str, str] = {}
    for ep in metadata.entry_points(group=GROUP):
        found.setdefault(ep.name, ep.value)
    for name, modname in BUILTIN_PLUGINS.items():
        found.setdefault(name, modname)  # source tree without installed entry points

    for name, modname in sorted(found.items()):
        info = infos[name] = PluginInfo(name=name, module=modname)
        if pm.is_blocked(name):
            info.status = "blocked"
            info.reason = "in the block list (settings.disabled_plugins)"
            continue
        if trust is not None and trust.require:
            checked = trust.check(name, modname)
            info.signature = checked.as_dict()
            if checked.status != "signed":
                info.status = "refused"
                info.version = plugin_version(modname)
                info.reason = f"plugins.require_signed: {checked.message}"
                log.error("plugin %s refused: %s", name, info.reason)
                continue
        try:
            module = importlib.import_module(modname)
            manifest = read_manifest(module)
        except Exception as err:  # a broken third-party plugin must not stop the gateway
            info.status = "failed"
            info.reason = f"{type(err).__name__}: {err}"
            log.error("plugin %s (%s) failed to load: %s", name, modname, info.reason)
            continue
        info.version = str(manifest.get("version", getattr(module, "__version__", "?")))
        info.contract = str(manifest.get("contract", "?"))
        pm.register(module, name=name)

    for name, plugin in extra:
        infos[name] = PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin)),
                                 installed=False)
        if isinstance(plugin, ModuleType):
            m = read_manifest(plugin)
            infos[name].version = str(m.get("version", "?"))
            infos[name].contract = str(m.get("contract", "?"))
        pm.register(plugin, name=name)

    pm.check_pending()  # a misspelled hookimpl fails here, at startup
    return GatewayPlugins(pm, infos, trust)
