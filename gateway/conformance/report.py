"""A conformance report: what was tested, and every check with its outcome.

Written as ``<adapter>.json`` and ``<adapter>.md`` (the Markdown is rendered
from the JSON, nothing else). ``generated_at`` and ``measurements`` change from
run to run; everything else is a function of the adapter, its plugin files and
the contract, so a committed report can be regenerated and compared.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["pass", "fail", "skipped"]
VOLATILE = ("generated_at", "measurements")


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    outcome: Outcome
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "outcome": self.outcome, "message": self.message}


@dataclass
class Report:
    adapter: str
    plugin: str
    plugin_version: str
    contract: str
    digest: str
    generated_at: str
    checks: list[Check] = field(default_factory=list)
    measurements: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> Literal["pass", "fail"]:
        return "fail" if self.failed else "pass"

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.outcome == "fail"]

    @property
    def passed(self) -> bool:
        return not self.failed

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "adapter": self.adapter,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "contract": self.contract,
            "digest": self.digest,
            "generated_at": self.generated_at,
            "outcome": self.outcome,
            "checks": [c.as_dict() for c in self.checks],
            "measurements": self.measurements,
        }

    def summary(self) -> str:
        """One line per check, for a terminal or a failed assertion."""
        lines = [f"{self.adapter} ({self.plugin} {self.plugin_version}, contract "
                 f"{self.contract}): {self.outcome.upper()}"]
        lines += [f"  {c.outcome:<7} {c.id}: {c.message}" for c in self.checks]
        return "\n".join(lines)


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def to_markdown(data: dict[str, Any]) -> str:
    """The Markdown form of a report's JSON object."""
    rows = "\n".join(f"| `{c['id']}` | {c['outcome']} | {_cell(c['message'])} |"
                     for c in data["checks"])
    figures = "\n".join(f"- {k}: {v}" for k, v in sorted(data.get("measurements", {}).items()))
    return (
        f"# Conformance report: {data['adapter']}\n\n"
        f"- Outcome: **{data['outcome']}**\n"
        f"- Plugin: `{data['plugin']}` {data['plugin_version']}\n"
        f"- Contract tested: {data['contract']}\n"
        f"- Digest: `{data['digest']}`\n"
        f"- Generated: {data['generated_at']}\n\n"
        "| Check | Outcome | Message |\n|---|---|---|\n"
        f"{rows}\n\n"
        "## Measurements (vary from run to run)\n\n"
        f"{figures or '- none'}\n"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_report(report: Report, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    json_path = directory / f"{report.adapter}.json"
    md_path = directory / f"{report.adapter}.md"
    json_path.write_text(to_json(data), encoding="utf-8")
    md_path.write_text(to_markdown(data), encoding="utf-8")
    return [json_path, md_path]


def stable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in VOLATILE}


def compare_reports(fresh: list[Report], directory: Path) -> list[str]:
    """How the committed reports in ``directory`` differ from ``fresh`` ones (empty: same).

    ``generated_at`` and ``measurements`` are left out; each Markdown file must be
    the rendering of its JSON file.
    """
    problems: list[str] = []
    names = {r.adapter for r in fresh}
    for report in fresh:
        path = directory / f"{report.adapter}.json"
        if not path.exists():
            problems.append(f"{path}: missing (write it with navet conformance --all --report)")
            continue
        committed = json.loads(path.read_text(encoding="utf-8"))
        want, got = stable(report.as_dict()), stable(committed)
        for key in sorted(set(want) | set(got)):
            if key == "checks":
                continue
            if want.get(key) != got.get(key):
                problems.append(f"{path.name}: {key} is {got.get(key)!r}, now {want.get(key)!r}")
        old = {c["id"]: c for c in got.get("checks", [])}
        for check in want.get("checks", []):
            before = old.pop(check["id"], None)
            if before != check:
                problems.append(f"{path.name}: check {check['id']} was {before}, now {check}")
        problems += [f"{path.name}: check {i} is gone" for i in sorted(old)]
        md = directory / f"{report.adapter}.md"
        if not md.exists() or md.read_text(encoding="utf-8") != to_markdown(committed):
            problems.append(f"{md.name}: not the rendering of {path.name}")
    for path in sorted(directory.glob("*.json")):
        if path.stem not in names:
            problems.append(f"{path.name}: no such adapter any more")
    return problems
