"""The documentation says what the code does: the README's commands, the demo's contents,
the licence, and no paths of the machine it was written on."""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", ROOT / "THIRD_PARTY_NOTICES.md", *ROOT.glob("docs/**/*.md"),
               *ROOT.glob("contracts/**/*.md"), *ROOT.glob("bench/**/*.md")])
MACHINE_PATH = re.compile(r"(?<![\w.~])(/work/|/root/|/home/\w|/Users/|/tmp/pytest-|[A-Z]:\\Users)")

VENV = "python3 -m venv .venv && . .venv/bin/activate"
DEMO = "python3 -m pip install -e . && navet demo"
TESTS = ("python3 -m pip install -e '.[test]' && python3 -m pip install --no-deps dc09-spt==0.0.4"
         " && python3 -m pytest && NAVET_TEST_DATABASE=postgresql python3 -m pytest -m store")


def _shell_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", text, re.DOTALL)]


def test_no_absolute_machine_paths_in_docs() -> None:
    found = [f"{doc.relative_to(ROOT)}:{n}: {line.strip()}"
             for doc in DOCS
             for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
             if MACHINE_PATH.search(line)]
    assert found == []


def test_readme_makes_a_venv_then_its_two_commands_copy_paste() -> None:
    blocks = _shell_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks[:3] == [VENV, DEMO, TESTS]


def test_ci_runs_the_readmes_test_command_exactly() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert TESTS in [line.strip() for line in ci.splitlines()]


def test_the_declared_licence_is_in_the_repository() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


# --------------------------------------------------------------------------- the demo

WORDS = {  # the operators' guide's words for the demo's devices -> (adapter or kind)
    "Zigbee sensors": ("adapter", "zigbee2mqtt"),
    "SCAIP alarm units": ("adapter", "scaip"),
    "DC-09 alarm units": ("adapter", "dc09"),
    "door locks": ("kind", "door_lock"),
    "medication dispensers": ("kind", "medication_dispenser"),
    "GPS alarm": ("kind", "gps_alarm"),
    "cameras": ("kind", "camera"),
    "camera": ("kind", "camera"),
}


def _demo_rows() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "operators.md").read_text(encoding="utf-8")
    text = text.split("## Try it: `navet demo`", 1)[1].split("\n## ", 1)[0]
    text = text.split("| tenant | residents | devices | staff |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.*) \|$", text, re.MULTILINE)
    return {tenant: [c.strip() for c in rest.split(" | ")] for tenant, rest in rows}


def test_operators_guide_describes_the_demo_municipality_as_it_is() -> None:
    care = yaml.safe_load((ROOT / "gateway" / "demo" / "municipality.yaml").read_text("utf-8"))
    rows = _demo_rows()
    assert sorted(rows) == sorted(t["id"] for t in care["tenants"])
    for tenant in care["tenants"]:
        residents, devices, staff = rows[tenant["id"]]
        assert int(residents) == len(tenant.get("residents", [])), tenant["id"]
        total, _, parts = devices.partition(": ")
        assert int(total) == len(tenant.get("devices", [])), tenant["id"]
        said: Counter[tuple[str, str]] = Counter()
        for part in parts.split(", "):
            n, _, words = part.partition(" ")
            said[WORDS[words]] += int(n)
        for key, n in said.items():
            field, value = key
            have = sum(1 for d in tenant["devices"] if d[field] == value)
            assert have == n, f"{tenant['id']}: the guide says {n} {key}, the demo has {have}"
        assert sum(said.values()) == int(total), tenant["id"]
        assert re.findall(r"`([^`]+)`", staff) == [s["id"] for s in tenant.get("staff", [])]
