"""The FHIR channels register as sinks through the same door as every plugin."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.core.plugins import build_plugin_manager
from tests.test_manifests import manifest_problems

MANIFEST = Path(__file__).resolve().parents[2] / "gateway" / "fhir" / "manifest.json"


def test_fhir_plugin_loads_and_registers_exactly_its_manifest_sinks() -> None:
    plugins = build_plugin_manager()
    info = next(i for i in plugins.list() if i.name == "fhir")
    assert info.status == "loaded", info.reason
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert info.sinks == sorted(manifest["sinks"]) == ["fhir-rest-hook", "fhir-websocket"]
    assert manifest_problems("fhir", manifest) == []
    assert plugins.sinks.get("fhir-rest-hook").kind == "fhir-rest-hook"
