"""Schemathesis against Navet's OpenAPI: generated requests to every operation, no 5xx allowed.

Starts ``navet serve`` (development settings, one tenant with a resident and
a device, in-memory MQTT) on a free port, points Schemathesis at
``/openapi.json`` with the tenant and an actor filled in (so requests get past
"unknown tenant" into the handlers), runs the examples and fuzzing phases,
and prints what it tested and found.

    pip install schemathesis
    python bench/api_fuzz.py                     # 50 examples per operation
    python bench/api_fuzz.py --examples 200 --json

The CI test ``tests/api/test_openapi_fuzz.py`` runs the same with a few
examples and fails on any server error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CARE = """\
tenants:
  - id: vasteras
    name: Västerås (fuzz)
    residents: [{id: r-1, label: Lgh 1}]
    staff: [{id: st-1, roles: [home_care, night_supervision], teams: [norr]}]
    devices:
      - {adapter: zigbee2mqtt, address: bed, kind: passive_sensor, resident: r-1}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(examples: int = 50, *, checks: str = "not_a_server_error",
        timeout: float = 900.0) -> dict[str, Any]:
    """Serve Navet, run Schemathesis, return the figures (and the tail of its output)."""
    st = shutil.which("schemathesis") or shutil.which("st")
    if st is None:
        raise RuntimeError("pip install schemathesis")
    work = Path(tempfile.mkdtemp(prefix="navet-api-fuzz-"))
    port = _free_port()
    (work / "care.yaml").write_text(CARE, encoding="utf-8")
    (work / "navet.yaml").write_text(json.dumps({
        "data_dir": str(work / "data"), "mqtt": {"mode": "memory"},
        "http": {"host": "127.0.0.1", "port": port}, "care_config": ["care.yaml"],
        "adapters": [{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
        "log_level": "WARNING",
    }), encoding="utf-8")
    (work / "schemathesis.toml").write_text(
        '[parameters]\n"query.tenant" = "vasteras"\n\n'
        '[headers]\n"X-Navet-Actor" = "st-1"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}
    server = subprocess.Popen([sys.executable, "-m", "gateway.cli", "serve", "--config",
                               str(work / "navet.yaml")], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError("navet serve exited: " +
                                       (server.stderr.read() or b"").decode()[-2000:]) from None
                time.sleep(0.2)
        started = time.monotonic()
        proc = subprocess.run(
            [st, "--config-file", str(work / "schemathesis.toml"), "run",
             f"http://127.0.0.1:{port}/openapi.json", "-c", checks, "-n", str(examples),
             "--phases", "examples,fuzzing", "--no-color", "--seed", "20261127"],
            cwd=work, capture_output=True, text=True, timeout=timeout, env=env)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    out = proc.stdout + proc.stderr
    tested = re.search(r"Tested:\s*(\d+)", out)
    cases = re.search(r"(\d+) generated, (\d+) passed", out) or \
        re.search(r"(\d+) generated, (\d+) found", out)
    failures = re.search(r"(\d+) generated, \d+ found (\d+) unique failures", out)
    return {
        "operations_tested": int(tested.group(1)) if tested else None,
        "cases": int(cases.group(1)) if cases else None,
        "unique_failures": int(failures.group(2)) if failures else 0,
        "exit_code": proc.returncode, "seconds": round(elapsed, 1), "checks": checks,
        "examples_per_operation": examples, "output_tail": out[-3000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--checks", default="not_a_server_error",
                        help="Schemathesis checks (e.g. all)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.examples, checks=args.checks)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(result["output_tail"])
        print(f"operations tested {result['operations_tested']}, cases {result['cases']}, "
              f"unique failures {result['unique_failures']}, {result['seconds']} s "
              f"(checks: {result['checks']})")
    return 0 if result["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
