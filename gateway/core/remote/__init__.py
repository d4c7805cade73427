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
           "remote_adapter_class"]

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

    def __init__(self, manifests: Iterable[Manifest]) -> None:
        self.classes = [remote_adapter_class(m) for m in manifests]

    @classmethod
    def from_settings(cls, specs: Iterable[str | Mapping[str, Any]],
                      base: Path | None = None) -> RemoteAdapters:
        return cls(load_manifest(s, base) for s in specs)

    @hookimpl
    def navet_register_adapters(self, registry: AdapterRegistry) -> None:
        for adapter in self.classes:
            registry.add(adapter)
