"""The HTTP API's OpenAPI document, snapshotted in ``contracts/openapi.json``.

The snapshot is the whole document FastAPI generates. What the contract test
compares is its surface: every path and method, their parameters (name,
place, required), request body and response status codes. That is what a
consumer codes against, and it does not change when a newer FastAPI words
descriptions or schema details differently.
"""

from __future__ import annotations

import json
import warnings
from typing import Any


def openapi() -> dict[str, Any]:
    from gateway.api import create_app
    from gateway.core.settings import Settings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate operation ids are reported elsewhere
        return create_app(Settings()).openapi()


def surface(doc: dict[str, Any]) -> dict[str, Any]:
    """Paths, methods, parameters, request body presence and response codes."""
    out: dict[str, Any] = {}
    for path, ops in sorted(doc.get("paths", {}).items()):
        for method, op in sorted(ops.items()):
            if not isinstance(op, dict):
                continue
            params = sorted((p.get("in", ""), p.get("name", ""), bool(p.get("required")))
                            for p in op.get("parameters", []))
            out[f"{method.upper()} {path}"] = {
                "parameters": [list(p) for p in params],
                "body": "requestBody" in op,
                "responses": sorted(op.get("responses", {})),
            }
    return out


def surface_of_file(text: str) -> dict[str, Any]:
    return surface(json.loads(text))
