"""examples/navet-example-adapter: an external plugin, installed as its own distribution
(not editable, not from this checkout's package), found by its entry point, passing the kit.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from .venv import ROOT, Venv

EXAMPLE = ROOT / "examples" / "navet-example-adapter"


@pytest.mark.slow
def test_the_example_plugin_installs_loads_and_passes_the_kit(navet_venv: Venv,
                                                              tmp_path: Path) -> None:
    source = tmp_path / "navet-example-adapter"  # a copy: building leaves nothing in the repo
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    done = navet_venv.run(
        f"pip install -q --no-deps {source}\n"
        "navet plugins list\n"
        "navet conformance sangvakt --json > report.json\n"
        "python -c 'import navet_sangvakt as m; print(m.__file__)'\n"
        f"cd {source} && python -m pytest -q -p no:cacheprovider tests",
        cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert re.search(r"sangvakt 1\.0\.0 +contract >=1\.2,<2 +loaded", done.stdout), done.stdout
    assert "/site-packages/navet_sangvakt/__init__.py" in done.stdout  # installed, not a path
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outcome"] == "pass", report
    assert report["plugin"] == "sangvakt"
    assert report["plugin_version"] == "1.0.0"
    outcomes = {c["id"]: c["outcome"] for c in report["checks"]}
    assert outcomes["zones"] == outcomes["heartbeat"] == outcomes["vectors"] == "pass"
    assert re.search(r"\d+ passed", done.stdout)
