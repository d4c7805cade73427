"""docs/adapters/README.md works as written: its ``sh`` blocks, run in order in a clean
virtual environment, scaffold a plugin, install it as its own distribution, and certify it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gateway import CONTRACT_VERSION

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
    assert f"acme-alarm (acme-alarm 0.1.0, contract {CONTRACT_VERSION}): PASS" in out
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


def test_the_scaffold_passes_the_kit_unchanged(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The fast twin of the tutorial test: in this process, without installing."""
    import importlib
    import sys

    from gateway.cli import main
    from gateway.conformance import load_declaration, run_class
    from gateway.core.plugins import read_manifest

    assert main(["plugins", "new", "vaktmus-larm", "--dir", str(tmp_path / "pkg")]) == 0
    assert "wrote 15 files" in capsys.readouterr().out
    sys.path.insert(0, str(tmp_path / "pkg"))
    try:
        module = importlib.import_module("navet_vaktmus_larm")
        cls = module.VaktmusLarmAdapter
        report = run_class(cls, load_declaration(module, "vaktmus-larm"),
                           plugin_manifest=read_manifest(module), module=module,
                           plugin="vaktmus-larm")
    finally:
        sys.path.remove(str(tmp_path / "pkg"))
        for name in [m for m in sys.modules if m.startswith("navet_vaktmus_larm")]:
            del sys.modules[name]
    assert report.passed, report.summary()
    assert {c.id for c in report.checks if c.outcome == "skipped"} == {"commands"}
    pyproject = (tmp_path / "pkg" / "pyproject.toml").read_text()
    assert '[project.entry-points.navet]\nvaktmus-larm = "navet_vaktmus_larm"' in pyproject
