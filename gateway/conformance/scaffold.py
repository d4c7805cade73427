"""``navet plugin new NAME``: a separately installable adapter package that passes the kit.

The package has its own ``pyproject.toml`` (entry point ``NAME`` in the group
``navet``), a manifest, an adapter for a placeholder JSON protocol, a
deterministic simulator, ``conformance.json``, golden vectors recorded from the
adapter it just wrote, and tests that run the kit. The files come from
``template/``; the vectors are made here, by decoding with that adapter.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

from gateway.core.adapters import RawFrame
from gateway.errors import ConfigError, PayloadError

TEMPLATES = Path(__file__).with_name("template")
NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
TENANT = "vasteras"
RECEIVED = "2026-01-01T03:00:00+00:00"


def names(name: str) -> dict[str, str]:
    if not NAME.match(name):
        raise ConfigError(f"plugin name {name!r}: use 3 to 32 lower-case letters, digits and "
                          "'-', starting with a letter (it is the adapter's and the entry "
                          "point's name)")
    words = re.split(r"-+", name)
    return {"name": name, "package": "navet_" + name.replace("-", "_"),
            "cls": "".join(w.capitalize() for w in words) + "Adapter",
            "title": " ".join(w.capitalize() for w in words)}


def scaffold(name: str, directory: Path) -> list[Path]:
    """Write the package for ``name`` into ``directory`` (new or empty); the files written."""
    values = names(name)
    if directory.exists() and any(directory.iterdir()):
        raise ConfigError(f"{directory} exists and is not empty; choose another --dir")
    package = directory / values["package"]
    layout = {
        "pyproject.toml.tmpl": directory / "pyproject.toml",
        "README.md.tmpl": directory / "README.md",
        "__init__.py.tmpl": package / "__init__.py",
        "manifest.json.tmpl": package / "manifest.json",
        "adapter.py.tmpl": package / "adapter.py",
        "simulator.py.tmpl": package / "simulator.py",
        "test_adapter.py.tmpl": directory / "tests" / "test_adapter.py",
    }
    written = []
    for template, target in layout.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        text = Template((TEMPLATES / template).read_text(encoding="utf-8")).substitute(values)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    with _imported(directory, values["package"]) as (adapter, simulator):
        written += _vectors(package / "vectors" / name, name, adapter, simulator)
        written.append(_declaration(package, values, simulator))
    return written


@contextlib.contextmanager
def _imported(directory: Path, package: str) -> Iterator[tuple[Any, Any]]:
    """The package just written, imported from ``directory`` and forgotten afterwards."""
    def forget() -> None:
        for mod in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[mod]

    forget()
    sys.path.insert(0, str(directory))
    try:
        adapter = importlib.import_module(f"{package}.adapter")
        simulator = importlib.import_module(f"{package}.simulator")
        yield adapter, simulator
    finally:
        sys.path.remove(str(directory))
        forget()


def _frame(payload: str) -> dict[str, str]:
    return {"address": "/events", "transport": "webhook", "payload": payload}


def _declaration(package: Path, values: dict[str, str], simulator: Any) -> Path:
    msg = simulator.message
    section = {
        "tenant": TENANT,
        "received": RECEIVED,
        "frames": [_frame(msg(1, "U-1", "alarm")), _frame(msg(2, "U-1", "battery", low=True))],
        "simulator": f"{values['package']}.simulator:frames",
        "vectors": [f"vectors/{values['name']}"],
        "heartbeat": {"frame": _frame(msg(3, "U-1", "alive", interval_s=300)),
                      "interval_s": 300},
        "silence": _frame(msg(4, "U-1", "offline")),
        "zones": [{"frame": _frame(msg(5, "U-1", "alarm", zone="012")), "zone": "012"}],
        "baseline_fps": 2000,
    }
    path = package / "conformance.json"
    path.write_text(json.dumps({"adapters": {values["name"]: section}}, indent=2) + "\n",
                    encoding="utf-8")
    return path


def _vectors(folder: Path, name: str, adapter: Any, simulator: Any) -> list[Path]:
    cls = next(v for v in vars(adapter).values()
               if isinstance(v, type) and getattr(v, "manifest", None) is not None
               and v.__module__ == adapter.__name__)
    msg = simulator.message
    cases = {
        "alarm_zone": ("An alarm from input 012: alarm.raised, zone kept as sent.",
                       msg(10, "U-1", "alarm", zone="012"), None),
        "alive": ("A heartbeat announcing its interval.",
                  msg(11, "U-1", "alive", interval_s=300), None),
        "battery_low": ("The unit's battery is low.", msg(12, "U-2", "battery", low=True), None),
        "offline": ("The vendor cloud lost the unit.", msg(13, "U-2", "offline"), None),
        "bad_not_json": ("Not JSON: refused.", "event=alarm", "body is not JSON"),
        "bad_unknown_event": ("An event the protocol does not have: refused.",
                              msg(14, "U-1", "explode"), "unknown event 'explode'"),
        "bad_time_without_offset": ("A time without UTC offset: refused.",
                                    msg(15, "U-1", "alarm").replace("+00:00", ""),
                                    "has no UTC offset"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, (description, payload, error) in cases.items():
        frame = {**_frame(payload), "tenant": TENANT, "received": RECEIVED}
        raw = RawFrame(name, TENANT, "webhook", "/events", payload.encode(),
                       datetime.fromisoformat(RECEIVED))
        vector: dict[str, Any] = {"description": description, "frame": frame}
        try:
            events = cls().decode(raw)
        except PayloadError as err:
            if error is None or error not in err.reason:
                raise AssertionError(f"template adapter refused {stem}: {err}") from err
            vector["error"] = error
        else:
            if error is not None:
                raise AssertionError(f"template adapter accepted {stem}")
            vector["events"] = [e.model_dump(mode="json") for e in events]
        path = folder / f"{stem}.json"
        path.write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written
