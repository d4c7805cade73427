"""The audit-chain benchmark runs and prints every figure (tiny count; no speed asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_audit_benchmark_prints_both_chains_and_they_verify() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "audit_chain.py"), "--entries",
                           "50", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["keyed"] for r in rows] == [False, True]
    assert all(r["ok"] and r["entries"] == 50 and r["appends_per_s"] > 0 for r in rows)
    assert rows[1]["first_checkpoint_s"] >= 0
