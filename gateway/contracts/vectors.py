"""Golden vectors: a raw frame and exactly what the adapter must make of it.

A vector is ``{"description", "frame": {address, payload, tenant, received},
"events": [...]}`` or ``{..., "error": "<part of the PayloadError>"}``, stored
under ``contracts/vectors/<adapter>/``. Record one with :func:`record_vector`,
read it line by line, and only then commit it: a vector nobody checked only
proves the adapter still does what it did.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.core.adapters import RawFrame
from gateway.core.model import EventBase, validate_event
from gateway.errors import ContractError, PayloadError

from .documents import diff, dump_json


def _adapters() -> Any:
    from gateway.core.plugins import build_plugin_manager

    return build_plugin_manager().adapters


def decode_frame(adapter: str, frame: Mapping[str, Any], registry: Any = None) -> list[EventBase]:
    """Run a vector's ``frame`` through the registered ``adapter`` (may raise PayloadError)."""
    cls = (registry or _adapters()).get(adapter)
    raw = RawFrame(
        adapter=adapter, tenant=frame["tenant"], transport=frame.get("transport", "mqtt"),
        address=frame["address"], payload=str(frame["payload"]).encode(),
        received=datetime.fromisoformat(frame["received"]), meta=frame.get("meta", {}),
    )
    return list(cls(frame.get("settings", {})).decode(raw))


def record_vector(adapter: str, frame: Mapping[str, Any]) -> dict[str, Any]:
    """What the adapter does with ``frame`` today, in vector form. A person must check it."""
    try:
        events = decode_frame(adapter, frame)
    except PayloadError as err:
        return {"frame": dict(frame), "error": err.reason}
    return {"frame": dict(frame), "events": [e.model_dump(mode="json") for e in events]}


def check_vector(path: Path, registry: Any = None) -> list[str]:
    """Replay one golden vector; each returned string is one way the adapter disagrees."""
    vector = json.loads(path.read_text(encoding="utf-8"))
    want_error = vector.get("error")
    try:
        got = decode_frame(path.parent.name, vector["frame"], registry)
    except PayloadError as err:
        if want_error is None:
            return [f"expected events, got PayloadError: {err}"]
        return [] if want_error in str(err) else [f"error {str(err)!r} lacks {want_error!r}"]
    except Exception as err:  # the very thing the vector guards against
        return [f"decode raised {type(err).__name__} instead of PayloadError: {err}"]
    if want_error is not None:
        return [f"expected PayloadError containing {want_error!r}, got {len(got)} events"]
    problems = []
    for i, expected in enumerate(vector["events"]):
        try:
            validate_event(expected)
        except ContractError as err:
            problems.append(f"expected event {i} breaks the contract: {err}")
    actual = [e.model_dump(mode="json") for e in got]
    if actual != vector["events"]:
        problems.append(diff(path.name, dump_json(vector["events"]), dump_json(actual)))
    return problems
