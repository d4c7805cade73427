"""What an adapter ships for the conformance kit: ``conformance.json`` beside its manifest.

One file per plugin package, next to ``manifest.json``, with one section per
adapter the plugin registers. Data only, read without importing the adapter::

    {
      "adapters": {
        "acme-lock": {
          "tenant": "vasteras",
          "settings": {},
          "frames": [{"address": "/acme", "payload": "{...}"}],
          "simulator": "navet_acme.simulator:frames",
          "vectors": ["vectors/acme-lock"],
          "heartbeat": {"frame": {"address": "/acme", "payload": "{...}"}},
          "silence": {"address": "/acme/status", "payload": "offline"},
          "zones": [{"frame": {"address": "/acme", "payload": "{...}"}, "zone": "012"}],
          "commands": {"device": "AL-2231", "settings": {}},
          "baseline_fps": 5000
        }
      }
    }

``frames`` are good frames the adapter must turn into events (what its
simulator sends); ``simulator`` names a function ``frames(count) -> iterable
of frame objects`` that makes more of them, deterministically; ``vectors`` are
directories of golden vectors, relative to this file. ``heartbeat`` is a frame
that says a device is alive, ``silence`` one that says it went away (leave it
out when the protocol has none: Navet then detects silence from the heartbeat
interval). ``zones`` lists frames whose event must carry ``location.zone``
(and ``location.user``) exactly as sent; leave it out when the protocol has no
zones. ``commands`` is needed by adapters whose manifest lists commands: the
device address to command and the settings to start the adapter with, its
vendor unreachable. ``baseline_fps`` is the decode rate the adapter is
expected to reach on a small machine; the kit fails only far below it.

An adapter class made at run time (a proxy for an out-of-process adapter, say)
may carry the same section as a class attribute ``conformance`` (a mapping);
it is used when the plugin has no ``conformance.json`` section for it, with
paths relative to the class's module.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import PluginError

FILE_NAME = "conformance.json"
DEFAULT_RECEIVED = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


class FrameSpec(BaseModel):
    """One raw frame as the kit feeds it to ``decode``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str = ""
    payload: str = Field(description="The frame's bytes as UTF-8 text (or hex, see encoding).")
    encoding: str = Field(default="utf-8", pattern="^(utf-8|hex)$")
    transport: str = "conformance"
    meta: dict[str, str] = Field(default_factory=dict)

    def payload_bytes(self) -> bytes:
        return bytes.fromhex(self.payload) if self.encoding == "hex" else self.payload.encode()


class HeartbeatSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    frame: FrameSpec
    interval_s: float | None = Field(
        default=None, description="When set, the heartbeat event must announce this interval.")


class ZoneSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    frame: FrameSpec
    zone: str | None = None
    user: str | None = None


class CommandSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device: str = Field(description="The device address at the vendor to send commands to.")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Start settings (merged over the adapter's settings).")
    args: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Arguments per command name, e.g. a camera "
        "session: {\"supervision.start\": {\"session\": \"s-1\", \"max_s\": 300}}.")
    budget_s: float = Field(default=600.0, gt=0,
                            description="Clock seconds execute may take to give up.")
    vendor: str | None = Field(
        default=None, pattern=r"^[\w.]+:\w+$",
        description="An async context manager factory ``vendor(host)`` that plays the vendor "
        "on the kit's host (its MQTT broker, clock); commands must then be accepted.")


class AdapterConformance(BaseModel):
    """The conformance section of one adapter."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str = "conformance"
    settings: dict[str, Any] = Field(default_factory=dict)
    received: datetime = DEFAULT_RECEIVED
    frames: tuple[FrameSpec, ...] = ()
    simulator: str | None = Field(default=None, pattern=r"^[\w.]+:\w+$")
    vectors: tuple[str, ...] = ()
    heartbeat: HeartbeatSpec | None = None
    silence: FrameSpec | None = None
    zones: tuple[ZoneSpec, ...] | None = None
    commands: CommandSpec | None = None
    baseline_fps: float = Field(default=1000.0, gt=0)


class ConformanceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    adapters: dict[str, AdapterConformance]


class Declaration:
    """An adapter's conformance section and where it came from."""

    def __init__(self, spec: AdapterConformance, base: Path | None) -> None:
        self.spec = spec
        self.base = base

    def vector_files(self) -> list[Path]:
        files: list[Path] = []
        for folder in self.spec.vectors:
            path = (self.base or Path.cwd()) / folder
            files.extend(sorted(path.glob("*.json")))
        return files

    def missing_vector_dirs(self) -> list[str]:
        return [folder for folder in self.spec.vectors
                if not ((self.base or Path.cwd()) / folder).is_dir()]

    def simulator_frames(self, count: int) -> list[FrameSpec]:
        if self.spec.simulator is None:
            return []
        module, _, name = self.spec.simulator.partition(":")
        make: Callable[[int], Iterable[Mapping[str, Any]]] = getattr(
            importlib.import_module(module), name)
        frames = []
        for raw in make(count):
            data = dict(raw)
            payload = data.get("payload", "")
            if isinstance(payload, bytes):
                try:
                    data["payload"] = payload.decode()
                except UnicodeDecodeError:
                    data["payload"], data["encoding"] = payload.hex(), "hex"
            frames.append(FrameSpec.model_validate(data))
        return frames


def parse_declaration(data: Any, adapter: str, base: Path | None = None) -> Declaration | None:
    """The section for ``adapter`` of a parsed conformance file; None when it has none.

    :raises PluginError: the file does not have the documented shape.
    """
    try:
        parsed = ConformanceFile.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise PluginError(f"{FILE_NAME}: {where}: {first['msg']}") from None
    spec = parsed.adapters.get(adapter)
    return None if spec is None else Declaration(spec, base)


def load_declaration(module: ModuleType | None, adapter: str,
                     cls: type[Any] | None = None) -> Declaration | None:
    """The conformance section of ``adapter`` in its plugin package (or, failing that, on
    the adapter class as ``conformance``); None when there is none."""
    file = getattr(module, "__file__", None) if module is not None else None
    path = Path(file).with_name(FILE_NAME) if file else None
    beside = getattr(cls, "conformance_file", None) if cls is not None else None
    if isinstance(beside, Path) and beside.exists():  # an out-of-process adapter's manifest
        path = beside
    if path is None or not path.exists():
        return _from_class(cls, adapter)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise PluginError(f"{path}: not JSON: {err}") from None
    return parse_declaration(data, adapter, path.parent) or _from_class(cls, adapter)


def _from_class(cls: type[Any] | None, adapter: str) -> Declaration | None:
    section = getattr(cls, "conformance", None) if cls is not None else None
    if not isinstance(section, Mapping):
        return None
    origin = getattr(sys.modules.get(cls.__module__), "__file__", None)
    return parse_declaration({"adapters": {adapter: dict(section)}}, adapter,
                             Path(origin).parent if origin else None)
