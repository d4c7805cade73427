"""The reduced fault soak: ~30 faults of every kind against a real ``navet serve``.

Runs on the suite's store, like every test: SQLite, then PostgreSQL in CI's second pass.

Not a timed test. What is asserted is correctness under faults, which the soak counts by
frame identity: every frame a device got its protocol answer for is stored (lost 0), no frame
is stored twice under different ids (duplicated 0), every stored event reaches both consumers,
and each kind of fault really happened (or, for the full disk, was skipped with its reason).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import require_binary, unavailable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "fault_soak.py"
REDUCED = ["--faults", "30", "--minutes", "2", "--settle", "90", "--json"]
FAMILIES = {"zigbee2mqtt", "dc09", "scaip", "portvakt", "dosvakt"}

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def _soak(*extra: str) -> dict[str, object]:
    require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    done = subprocess.run([sys.executable, str(SCRIPT), *REDUCED, *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode in (0, 2), done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["_stderr"] = done.stderr[-3000:]
    figures["_rc"] = done.returncode
    return figures


def _check(figures: dict[str, object], kinds: set[str]) -> None:
    total = figures["total"]
    families = figures["families"]
    consumers = figures["consumers"]
    assert isinstance(total, dict) and isinstance(families, dict)
    assert isinstance(consumers, dict)
    assert total.get("lost", 0) == 0, figures
    assert total.get("duplicated", 0) == 0, figures
    assert figures["unexplained"] == 0, figures["unexplained_samples"]  # all traced
    assert figures["_rc"] == 0, figures["_stderr"]
    assert set(families) == FAMILIES
    for name, fam in families.items():
        assert fam["acknowledged"] > 0 and fam["stored_frames"] >= fam["acknowledged"], name
    for name, c in consumers.items():
        assert c["expected"] > 0 and c["undelivered"] == 0 and c["unknown"] == 0, name
    faults = figures["faults"]
    assert isinstance(faults, dict)
    skipped = figures["skipped"]
    assert isinstance(skipped, dict)
    for kind in kinds:
        if kind in skipped:
            assert skipped[kind], kind  # a reason, printed
        else:
            assert faults.get(kind, 0) > 0, (kind, faults)
    assert figures["faults_total"] == sum(faults.values()) >= 20
    assert figures["gateway_starts"] == faults.get("gateway_kill", 0) + 1


def test_reduced_soak_loses_nothing_and_stores_nothing_twice() -> None:
    """On the suite's store: SQLite, or (``NAVET_TEST_DATABASE`` set to PostgreSQL) a
    PostgreSQL server of the soak's own, which it restarts as one of the faults."""
    kinds = {"gateway_kill", "broker_restart", "consumer_outage", "cloud_outage", "disk_full"}
    if os.environ.get("NAVET_TEST_DATABASE", "sqlite").strip() in ("", "sqlite"):
        figures = _soak("--seed", "11")
        assert "db_restart" in figures["skipped"]  # SQLite: no server to restart
    else:
        from tests.postgres import find_bindir

        if find_bindir() is None:
            unavailable("postgresql", "apt-get install postgresql")
        figures = _soak("--seed", "12", "--store", "postgresql")
        kinds.add("db_restart")
    _check(figures, kinds)
