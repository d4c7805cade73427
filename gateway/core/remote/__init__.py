"""Out-of-process adapters: a vendor's adapter in any language, speaking the contract over MQTT.

A deployment declares each out-of-process adapter it accepts by its manifest
(``remote_adapters`` in settings: the path of the vendor's manifest JSON, or the
manifest inline). :class:`RemoteAdapters` registers one proxy class per manifest
(:func:`remote_adapter_class`) in the adapter registry during
``navet_register_adapters``, so the adapter then runs like any other: an
``adapters`` instance per tenant, the catalogue, the conformance kit.

The wire protocol (topics, payloads, acknowledgement) is in :mod:`.topics`,
:mod:`.proxy`, ``contracts/asyncapi.yaml`` and docs/adapters/out-of-process.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway import Manifest, hookimpl
from gateway.errors import ConfigError

from .proxy import RemoteAdapter, RemoteSettings, remote_adapter_class
from .topics import RemoteTopics

if TYPE_CHECKING:
    from gateway import AdapterRegistry

__all__ = ["RemoteAdapter", "RemoteAdapters", "RemoteSettings", "RemoteTopics", "load_manifest",
           "remote_adapter_class", "remote_plugins"]

PLUGIN_NAME = "remote"
"""The name the remote adapters' registration carries in ``navet plugins list``."""


def load_manifest(spec: str | Path | Mapping[str, Any], base: Path | None = None) -> Manifest:
    """The manifest of one declared out-of-process adapter.

    :param spec: a path to the vendor's manifest JSON (relative to ``base``), or the
        manifest itself.
    :raises ConfigError: naming the file and the field that is wrong.
    """
    where = "remote_adapters entry"
    if isinstance(spec, str | Path):
        path = Path(spec)
        if base is not None and not path.is_absolute():
            path = base / path
        where = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"remote adapter manifest {path}: cannot read: "
                              f"{err.strerror or err}") from err
        except ValueError as err:
            raise ConfigError(f"remote adapter manifest {path} is not JSON: {err}") from err
    else:
        data = dict(spec)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a manifest is a JSON object")
    data = {k: v for k, v in data.items() if k in Manifest.model_fields}
    try:
        return Manifest.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise ConfigError(f"{where}: manifest field {'.'.join(map(str, first['loc']))}: "
                          f"{first['msg']}") from err


class RemoteAdapters:
    """A plugin object registering one proxy adapter class per declared manifest."""

    __name__ = __name__  # what `navet plugins list` shows as the plugin's module

    def __init__(self, manifests: Iterable[Manifest],
                 files: Iterable[Path | None] | None = None) -> None:
        self.classes = [remote_adapter_class(m, f) for m, f in
                        zip(manifests, files or _nones(), strict=False)]

    @classmethod
    def from_settings(cls, specs: Iterable[str | Mapping[str, Any]],
                      base: Path | None = None) -> RemoteAdapters:
        specs = list(specs)
        files = [_path(s, base) if isinstance(s, str | Path) else None for s in specs]
        return cls([load_manifest(s, base) for s in specs], files)

    @hookimpl
    def navet_register_adapters(self, registry: AdapterRegistry) -> None:
        for adapter in self.classes:
            registry.add(adapter)


def remote_plugins(specs: Iterable[str | Mapping[str, Any]], base: Path | None = None
                   ) -> list[tuple[str, object]]:
    """``extra`` for :func:`gateway.core.plugins.build_plugin_manager`: the deployment's
    out-of-process adapters (settings ``remote_adapters``), or nothing when it has none.
    Whatever builds the plugin manager for a deployment (the gateway, the catalogue, the
    conformance kit) passes this, so they all see the same adapters."""
    specs = list(specs)
    return [(PLUGIN_NAME, RemoteAdapters.from_settings(specs, base))] if specs else []


def _path(spec: str | Path, base: Path | None) -> Path:
    path = Path(spec)
    return base / path if base is not None and not path.is_absolute() else path


def _nones() -> Iterable[None]:
    while True:
        yield None
