"""``navet serve --config``: starts from a file, stops cleanly on SIGTERM, refuses bad config."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from gateway.core.store.schema import MIGRATIONS
from tests.postgres import database_of, query_database
from tests.services import free_port


def test_serve_runs_from_a_config_file_and_stops_on_sigterm(tmp_path: Path) -> None:
    http_port = free_port()
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"),
        "mqtt": {"mode": "memory"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "log_format": "json",
        "adapters": [{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
    }))
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config",
                             str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    log = err.decode(errors="replace")
    assert ready is not None and ready.status_code == 200, log[-3000:]
    assert proc.returncode == 0, log[-3000:]
    assert '"message": "navet stopping (SIGTERM)"' in log
    assert query_database(database_of(tmp_path / "data"),
                          "SELECT max(version) FROM schema_version") == [(len(MIGRATIONS),)]


def test_serve_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({"data_dir": str(tmp_path), "mqtt": {"mode": "memory"}}))
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
        capture_output=True, timeout=30,
        env={**_env(), "NAVET_ENVIRONMENT": "production"},
    )
    assert proc.returncode == 1
    assert "mqtt.mode 'memory' is for tests" in proc.stderr.decode()


def test_serve_with_an_unreadable_config_says_which_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(tmp_path / "nope.yaml")],
        capture_output=True, timeout=30,
    )
    assert proc.returncode == 1
    assert "nope.yaml" in proc.stderr.decode()


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}
