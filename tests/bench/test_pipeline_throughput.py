"""The throughput benchmark runs end to end and prints every figure it promises.

Not a timed test: tiny counts, and nothing is asserted about speed. What is
asserted is what a user running the benchmark relies on: exit code 0, every
message of the baseline received, every Navet frame and event stored, and a
table / JSON that carries each figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import require_binary

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "pipeline_throughput.py"
TINY = ["--messages", "120", "--lone", "5", "--concurrency", "8", "--timeout", "90"]

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def _run(*extra: str) -> subprocess.CompletedProcess[str]:
    require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    return subprocess.run(
        [sys.executable, str(SCRIPT), *TINY, *extra], cwd=ROOT,
        capture_output=True, text=True, timeout=400,
    )


def test_json_output_has_every_stage_and_nothing_was_lost() -> None:
    done = _run("--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)

    assert figures["config"]["messages"] == 120 and figures["config"]["sync"] == "FULL"
    assert figures["baseline"]["complete"] and figures["baseline"]["messages"] == 120
    assert figures["baseline"]["msgs_per_s"] > 0

    navet = figures["navet"]
    assert navet["complete"]
    assert navet["frames_stored"] == 120
    assert navet["events_stored"] == navet["events_expected"] > 120
    assert navet["frames_per_s"] > 0 and navet["events_per_s"] > navet["frames_per_s"]
    lat = navet["latency"]
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert navet["rss_peak_mb"] >= navet["rss_idle_mb"] > 0

    paced = figures["paced"]
    assert paced["complete"] and 0 < paced["rate"] < navet["frames_per_s"]
    assert paced["latency"]["p50_ms"] > 0

    burst = figures["burst"]
    assert burst["events_stored"] == burst["events_expected"]
    assert burst["frames_per_transaction"] >= 1
    assert figures["lone"]["frames"] == 5
    assert figures["lone"]["latency"]["p50_ms"] > 0
    assert figures["ratio"]["navet_frames_vs_baseline"] > 0
    assert navet["cpu_ms_per_frame"] > 0 and burst["cpu_ms_per_frame"] > 0
    behind = figures["behind_burst"]  # alarms in the middle of a burst, lane on and off
    assert behind["lane"]["lane"] and not behind["no_lane"]["lane"]
    for side in behind.values():
        assert side["bulk_frames"] == 120 and side["alarms"] == 6
        assert 0 < side["durable"]["p50_ms"] <= side["raised"]["p50_ms"]


def test_table_output_names_each_figure_and_the_ratio() -> None:
    done = _run("--sync", "NORMAL", "--qos", "0")
    assert done.returncode == 0, done.stderr
    table = done.stdout
    assert "QoS 0" in table and ("synchronous=NORMAL" in table or "PostgreSQL" in table)
    for label in ("baseline relay", "frames stored durably", "events stored durably",
                  "publish -> durable latency", "paced at", "gateway process RSS",
                  "in-process burst",
                  "frames per store transaction", "lone frame", "ratio navet over MQTT",
                  "CPU per frame", "alarm behind a burst", "without the priority lane"):
        assert label in table, f"{label!r} missing from:\n{table}"
    assert "INCOMPLETE" not in table


def test_bad_arguments_are_refused_with_a_message() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--messages", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--messages" in done.stderr


def test_postgres_option_stores_every_frame_in_postgresql(pg_server: object) -> None:
    """``--postgres`` starts its own server (``pg_server`` only says one can run here)."""
    done = _run("--postgres", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["config"]["store"] == "postgresql"
    assert figures["navet"]["complete"] and figures["navet"]["frames_stored"] == 120
    assert figures["burst"]["events_stored"] == figures["burst"]["events_expected"]
