"""The public API for plugin authors is exactly ``gateway.__all__``, and plugins use nothing else.

Pinning the list makes every addition or removal a visible, reviewed contract
change. Plugins, ours included, import only ``from gateway import ...``, so an
internal refactor of ``gateway.core`` can never break a vendor's adapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import gateway

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"

PUBLIC_API = [
    "CONTRACT_VERSION",
    "SIA_CODE_FOR_KIND",
    "SIA_RESTORE",
    "Actor",
    "ActorKind",
    "Adapter",
    "AdapterBase",
    "AdapterHost",
    "AdapterRegistry",
    "AlarmDesk",
    "AlarmKind",
    "AlarmReader",
    "AlarmStatus",
    "AlarmView",
    "Clock",
    "Command",
    "CommandResult",
    "ConfigError",
    "ContractError",
    "DeviceKind",
    "DeviceRef",
    "Event",
    "EventBase",
    "FakeClock",
    "FhirModel",
    "FhirResource",
    "GeoPoint",
    "IngestResult",
    "ListenerConnection",
    "ListenerIntake",
    "ListenerSettings",
    "Location",
    "Manifest",
    "MqttClient",
    "MqttMessage",
    "NavetError",
    "OutboundPolicy",
    "OutboundRefused",
    "PayloadError",
    "Priority",
    "RawFrame",
    "Sink",
    "SinkRegistry",
    "SinkServices",
    "SinkSubscription",
    "SourceRef",
    "SystemClock",
    "TransportError",
    "WebhookHandler",
    "WebhookRequest",
    "WebhookResponse",
    "__version__",
    "device_id",
    "event_id",
    "from_cloudevent",
    "hookimpl",
    "make_event",
    "to_cloudevent",
]


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff (RUF022) keeps ``__all__`` in: CONSTANTS, Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_public_api_is_pinned() -> None:
    assert gateway.__all__ == PUBLIC_API, (
        "gateway.__all__ changed. This is a contract change for every plugin author: "
        "update PUBLIC_API here and contracts/CHANGELOG.md together."
    )


def test_public_api_is_sorted_unique_and_importable() -> None:
    assert sorted(PUBLIC_API, key=_isort_key) == PUBLIC_API
    assert len(set(PUBLIC_API)) == len(PUBLIC_API)
    missing = [name for name in PUBLIC_API if not hasattr(gateway, name)]
    assert missing == []


def internal_imports(source: str) -> list[str]:
    """Every import in ``source`` that reaches past the public ``gateway`` API.

    Allowed is only ``from gateway import <name in gateway.__all__>``, also
    under ``TYPE_CHECKING``: type-only imports are still a dependency.
    """
    problems = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            problems += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name == "gateway" or alias.name.startswith("gateway.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("gateway."):
                problems.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "gateway":
                problems += [
                    f"line {node.lineno}: gateway.{alias.name} is not public"
                    for alias in node.names
                    if alias.name not in gateway.__all__
                ]
    return problems


PLUGIN_FILES = sorted(PLUGINS_DIR.rglob("*.py"))


@pytest.mark.parametrize(
    "path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(PLUGINS_DIR.parent))
)
def test_plugin_imports_only_the_public_api(path: Path) -> None:
    assert internal_imports(path.read_text(encoding="utf-8")) == []


def test_there_are_plugin_files_to_check() -> None:
    names = {str(p.relative_to(PLUGINS_DIR)) for p in PLUGIN_FILES}
    assert {"alarms/__init__.py", "alarms/zigbee2mqtt/adapter.py"} <= names


def test_the_import_check_catches_every_way_past_the_api() -> None:
    source = """
from typing import TYPE_CHECKING
import json
from gateway import make_event, PayloadError
from .const import X
import gateway
import gateway.core.model as model
from gateway.core.adapters import RawFrame
from gateway import Pipeline
if TYPE_CHECKING:
    from gateway.core.store import SQLiteStore
def f():
    from gateway.errors import StoreError
"""
    assert internal_imports(source) == [
        "line 6: import gateway",
        "line 7: import gateway.core.model",
        "line 8: from gateway.core.adapters import ...",
        "line 9: gateway.Pipeline is not public",
        "line 11: from gateway.core.store import ...",
        "line 13: from gateway.errors import ...",
    ]
