"""docs/adapters/README.md works as written: its ``sh`` blocks, run in order in a clean
virtual environment, scaffold a plugin, install it as its own distribution, and certify it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .venv import ROOT, Venv

TUTORIAL = ROOT / "docs" / "adapters" / "README.md"


def shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)]


@pytest.mark.slow
def test_the_tutorial_runs_from_zero_to_a_certified_adapter(navet_venv: Venv,
                                                            tmp_path: Path) -> None:
    blocks = shell_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert blocks[0] == "navet plugin new acme-alarm"
    done = navet_venv.run("\n".join(blocks), cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 0, out
    project = tmp_path / "navet-acme-alarm"
    assert (project / "pyproject.toml").exists()
    assert re.search(r"acme-alarm 0\.1\.0 +contract >=1\.0,<2 +loaded", out), out
    assert '"zone": "012"' in out  # navet decode
    assert "acme-alarm (acme-alarm 0.1.0, contract 1.2): PASS" in out
    assert re.search(r"\d+ passed", out), out  # the package's own tests, the kit included
    assert "8 golden vectors replay exactly" in out  # the one recorded in step 7
    report = json.loads((project / "reports" / "acme-alarm.json").read_text())
    assert report["outcome"] == "pass"
    assert report["plugin"] == "acme-alarm"
    assert report["digest"].startswith("sha256:")
    assert (project / "reports" / "acme-alarm.md").read_text().startswith(
        "# Conformance report: acme-alarm")
    # installed as its own distribution, found by entry point, not from this checkout
    where = navet_venv.run("python -c 'import navet_acme_alarm as m; print(m.__file__)'",
                           cwd=tmp_path)
    assert where.stdout.strip() == str(project / "navet_acme_alarm" / "__init__.py")


def test_scaffold_refuses_a_bad_name_and_a_used_directory(tmp_path: Path) -> None:
    from gateway.conformance.scaffold import scaffold
    from gateway.errors import ConfigError

    with pytest.raises(ConfigError, match="plugin name 'Acme_Alarm': use 3 to 32 lower-case"):
        scaffold("Acme_Alarm", tmp_path / "x")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        scaffold("acme-alarm", tmp_path / "used")
