"""A deployment's out-of-process adapter is certified and listed like an installed one:
``navet conformance NAME --config`` and ``navet catalogue --config`` see the adapters its
settings declare (``remote_adapters``), with the declaration beside the vendor's manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "examples" / "node-lock" / "navet-adapter.json"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "navet.yaml"
    text = f"data_dir: {tmp_path / 'data'}\nremote_adapters: [{json.dumps(str(MANIFEST))}]\n"
    path.write_text(text,
                    encoding="utf-8")
    return path


def test_the_kit_runs_on_a_declared_out_of_process_adapter(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "nyckelbo", "--config", str(config), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["adapter"] == "nyckelbo" and report["plugin"] == "remote"
    outcomes = {c["id"]: c["outcome"] for c in report["checks"]}
    assert outcomes["manifest"] == "pass" and outcomes["commands"] == "pass"
    assert "fail" not in outcomes.values()


def test_without_the_deployment_the_adapter_is_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "nyckelbo"]) != 0
    assert "nyckelbo" in capsys.readouterr().err


def test_the_catalogue_lists_it_as_installed(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue", "--config", str(config), "--json"]) == 0
    entries = {e["adapter"]: e for e in json.loads(capsys.readouterr().out)}
    assert entries["nyckelbo"]["installed"] is True
    assert entries["nyckelbo"]["plugin"] == "remote"
