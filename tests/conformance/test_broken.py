"""The kit catches what it claims to: one deliberately broken adapter per check.

Each broken probe (tests/conformance/probe.py) must fail exactly its own check,
with a message that says what to change, and pass every other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from gateway.conformance import CHECK_IDS, parse_declaration, run_class

from .probe import BROKEN, ProbeAdapter, declaration


def test_the_correct_probe_passes_every_check(tmp_path: Path) -> None:
    report = run_class(ProbeAdapter, declaration(tmp_path))
    assert report.passed, report.summary()
    assert [c.outcome for c in report.checks] == ["pass"] * len(CHECK_IDS)


def test_every_check_has_a_broken_adapter() -> None:
    assert sorted(BROKEN) == sorted(CHECK_IDS)


@pytest.mark.parametrize("check_id", sorted(BROKEN))
def test_a_broken_adapter_fails_exactly_its_check(check_id: str, tmp_path: Path) -> None:
    cls, message = BROKEN[check_id]
    report = run_class(cls, declaration(tmp_path))
    failed = [c.id for c in report.failed]
    assert failed == [check_id], report.summary()
    assert message in report.check(check_id).message, report.check(check_id).message
    assert report.outcome == "fail"


def test_an_adapter_without_a_declaration_is_told_what_to_ship() -> None:
    report = run_class(ProbeAdapter, None)
    assert report.check("manifest").outcome == "pass"
    for check in report.checks[1:]:
        assert check.outcome == "fail"
        assert "add conformance.json beside the plugin's manifest.json" in check.message


def test_a_malformed_declaration_names_the_field(tmp_path: Path) -> None:
    from gateway.errors import PluginError

    with pytest.raises(PluginError, match=r"conformance.json: adapters.probe.frames.0.payload"):
        parse_declaration({"adapters": {"probe": {"frames": [{"address": "x"}]}}}, "probe")


def test_skipped_checks_say_why(tmp_path: Path) -> None:
    decl = declaration(tmp_path, zones=None, heartbeat=None, silence=None)
    report = run_class(ProbeAdapter, decl)
    assert report.check("zones").outcome == "skipped"
    assert "no zone numbers" in report.check("zones").message
    assert report.check("heartbeat").outcome == "skipped"
    assert report.passed


def test_a_class_may_carry_its_declaration(tmp_path: Path) -> None:
    from gateway.conformance import load_declaration

    from .probe import write_vectors

    write_vectors(tmp_path)

    class Carried(ProbeAdapter):
        conformance: ClassVar[dict[str, Any]] = {
            "tenant": "probeby", "frames": [{"payload": '{"dev": "P-1"}'}]}

    found = load_declaration(None, "probe", Carried)
    assert found is not None
    assert found.spec.tenant == "probeby"
    assert found.spec.frames[0].payload == '{"dev": "P-1"}'
    assert load_declaration(None, "probe", ProbeAdapter) is None
