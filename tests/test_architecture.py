"""The layers hold: `lint-imports` checks the contracts in pyproject.toml, and
``import gateway`` loads the SDK alone.

The contracts (``[tool.importlinter]``) are the arrows that must never exist
(docs/architecture.md): the SDK imports no runtime, plugins and the FHIR facade
see only the SDK, transports know nothing of the core, the core knows no HTTP,
and the core has no import cycles (``TYPE_CHECKING`` and function-level imports
count).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.services import require_binary

ROOT = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def test_the_import_contracts_are_kept() -> None:
    exe = require_binary("lint-imports", "pip install -e '.[test]' (import-linter)")
    run = subprocess.run([exe, "--no-cache"], cwd=ROOT, env=_env(), capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_importing_gateway_loads_no_runtime() -> None:
    code = ("import json, sys, gateway; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('gateway'))))")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(run.stdout)
    assert "gateway.sdk.model" in loaded
    assert [m for m in loaded if m != "gateway" and not m.startswith("gateway.sdk")] == []


def test_every_source_directory_is_a_package_the_contracts_can_see() -> None:
    """import-linter sees only regular packages: a directory of modules without an
    ``__init__.py`` (a namespace package) is invisible to the contracts, so an import
    into it from a forbidden layer would pass unnoticed."""
    skip = {"__pycache__", "template", "templates", "static", "vendor", "messages", "web"}
    missing = sorted(
        str(d.relative_to(ROOT))
        for top in ("gateway", "plugins", "simulators")
        for d in [ROOT / top, *(ROOT / top).rglob("*")]
        if d.is_dir() and not skip.intersection(d.relative_to(ROOT).parts)
        and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    )
    assert missing == [], f"directories of modules without __init__.py: {missing}"
