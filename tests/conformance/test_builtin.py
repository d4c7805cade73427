"""Every built-in adapter passes the conformance kit, and the committed reports say so.

``contracts/conformance/`` holds the reports ``navet conformance --all --report
contracts/conformance`` wrote; CI regenerates them here and fails when anything
but ``generated_at`` and ``measurements`` changed (a plugin file changed its
digest, a check's outcome or message moved).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gateway import CONTRACT_VERSION
from gateway.cli import main
from gateway.conformance import CHECK_IDS, compare_reports, run_adapter
from gateway.contracts import DEFAULT_DIR

REPORTS = DEFAULT_DIR / "conformance"


def test_every_builtin_adapter_passes_and_the_committed_reports_are_current(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["conformance", "--all", "--check", str(REPORTS)])
    out, err = capsys.readouterr()
    assert code == 0, err + out
    assert "FAIL" not in out
    for name in ("dc09", "scaip", "zigbee2mqtt", "lasbro", "portvakt", "ugglan"):
        assert f"{name} (" in out


def test_json_prints_one_object_with_the_agreed_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "medikub", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["adapter"] == "medikub"
    assert data["plugin"] == "medication"
    assert data["contract"] == CONTRACT_VERSION
    assert data["digest"].startswith("sha256:") and len(data["digest"]) == 71
    assert data["outcome"] == "pass"
    assert [c["id"] for c in data["checks"]] == list(CHECK_IDS)
    assert {c["outcome"] for c in data["checks"]} <= {"pass", "skipped"}
    assert all(set(c) == {"id", "outcome", "message"} for c in data["checks"])


def test_check_names_a_report_that_differs(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    report = run_adapter("medikub")
    for name in ("medikub.json", "medikub.md"):
        (tmp_path / name).write_text((REPORTS / name).read_text())
    assert compare_reports([report], tmp_path) == []
    data = json.loads((tmp_path / "medikub.json").read_text())
    data["digest"] = "sha256:" + "0" * 64
    data["measurements"] = {"decode_fps": 1}  # volatile: never a difference by itself
    (tmp_path / "medikub.json").write_text(json.dumps(data))
    problems = compare_reports([report], tmp_path)
    assert any(p.startswith("medikub.json: digest is 'sha256:000") for p in problems)
    assert "medikub.md: not the rendering of medikub.json" in problems


def test_an_unknown_adapter_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["conformance", "nosuch"]) == 1
    assert "no adapter named 'nosuch'" in capsys.readouterr().err


def test_the_pytest_fixture_runs_the_kit(navet_conformance: Any) -> None:
    report = navet_conformance("zigbee2mqtt")
    assert report.passed, report.summary()
    assert report.check("zones").outcome == "pass"


def test_a_failing_adapter_exits_4_and_says_which_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    import gateway.core.plugins as host
    from gateway import hookimpl

    from .probe import FRAMES, ZoneAsNumber

    class Declared(ZoneAsNumber):
        conformance: ClassVar[dict[str, Any]] = {
            "tenant": "probeby",
            "frames": [{"address": "probe/P-1", "payload": FRAMES["alarm"]}],
            "zones": [{"frame": {"address": "probe/P-1", "payload": FRAMES["zone"]},
                       "zone": "012"}],
            "commands": {"device": "P-1"},
        }

    plugin = types.ModuleType("probe_plugin")

    @hookimpl
    def navet_register_adapters(registry: Any) -> None:
        registry.add(Declared)

    plugin.navet_register_adapters = navet_register_adapters  # type: ignore[attr-defined]
    build = host.build_plugin_manager
    monkeypatch.setattr(host, "build_plugin_manager",
                        lambda *a, **k: build(extra=[("probe", plugin)]))
    assert main(["conformance", "probe", "--json"]) == 4
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "fail"
    zones = next(c for c in data["checks"] if c["id"] == "zones")
    assert zones["outcome"] == "fail"
    assert "must give location.zone '012'" in zones["message"]
