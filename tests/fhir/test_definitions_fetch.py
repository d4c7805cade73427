"""The suite fetches HL7's R5 definitions itself when npm is there, and says why not when not."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from . import r5_definitions
from .r5_definitions import PACKAGE, fetch


def _fake_npm(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\n" + script)
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)


def test_fetch_runs_npm_install_into_the_cache(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """What npm is asked, as a shell script standing in for it records and does."""
    calls = tmp_path / "calls"
    _fake_npm(tmp_path / "bin", f'echo "$@" >> {calls}\n'
              'mkdir -p "$6/node_modules/hl7.fhir.r5.core"\n'
              'echo "{}" > "$6/node_modules/hl7.fhir.r5.core/package.json"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin")
    prefix = tmp_path / "cache" / "fhir"
    assert fetch(prefix) is None
    assert calls.read_text().split() == ["install", "--no-save", "--no-audit", "--no-fund",
                                         "--prefix", str(prefix), PACKAGE]
    assert fetch(prefix) is None  # there now: npm is not asked again
    assert len(calls.read_text().splitlines()) == 1


def test_without_npm_the_reason_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert fetch(tmp_path / "cache") == "npm is not on the PATH, so the suite cannot fetch it"


def test_a_failing_npm_is_reported_with_its_last_words(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_npm(tmp_path / "bin", 'echo "npm error code ENOTFOUND" >&2\n'
              'echo "npm error network request failed" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    reason = fetch(tmp_path / "cache")
    assert reason is not None
    assert reason.startswith(f"npm install {PACKAGE} failed (exit 1)")
    assert "ENOTFOUND" in reason and "network request failed" in reason


def test_missing_reason_explains_and_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(r5_definitions, "_missing", ["npm is not on the PATH"])
    text = r5_definitions.missing_reason()
    assert text.startswith("npm is not on the PATH; install npm")
    assert os.path.join(".cache", "fhir") in text
