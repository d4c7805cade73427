"""Routes get the store's repositories through dependencies in gateway/api/deps.py.

No route module reaches ``gateway.store`` itself; a scan that names each reach.
"""

from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "gateway" / "api"


def store_reaches(source: str) -> list[int]:
    """Lines where ``gateway.store`` or ``gw.store`` is read."""
    return sorted(node.lineno for node in ast.walk(ast.parse(source))
                  if isinstance(node, ast.Attribute) and node.attr == "store"
                  and isinstance(node.value, ast.Name) and node.value.id in ("gateway", "gw"))


def test_the_scan_sees_a_reach() -> None:
    assert store_reaches("async def f(gateway):\n    return gateway.store.rows('x')\n") == [2]
    assert store_reaches("async def f(store):\n    return store.rows('x')\n") == []


def test_routes_do_not_reach_into_the_gateway_for_the_store() -> None:
    modules = sorted([*(API / "routes").glob("*.py"), *(API / "console").glob("*.py")])
    assert len(modules) > 10
    found = [f"{p.relative_to(API.parent.parent)}:{line}"
             for p in modules for line in store_reaches(p.read_text(encoding="utf-8"))]
    assert not found, "use a dependency from gateway/api/deps.py instead:\n" + "\n".join(found)
