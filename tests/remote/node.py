"""The Node.js example adapter (examples/node-lock) as a subprocess of a test.

Debian's ``node`` runs it; the npm ``mqtt`` package (pinned below, as in ``.ci/run``) is
installed into ``.cache/node-adapter`` on first use and found through ``NODE_PATH``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from tests.services import require_binary, unavailable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "node-lock"
MANIFEST = EXAMPLE / "navet-adapter.json"
MQTT_JS_VERSION = "5.16.0"
MODULES = ROOT / ".cache" / "node-adapter" / "node_modules"
NAMESPACE = uuid.UUID("6f1c1d5e-1c39-4f4e-9a55-6e796b656c62")
"""Nyckelbo's id namespace (examples/node-lock/main.js)."""


def install() -> str:
    """Path of ``node``, with the pinned ``mqtt`` package installed (skip/fail without them)."""
    node = require_binary("node", f"apt-get install nodejs npm (the test installs "
                          f"mqtt@{MQTT_JS_VERSION} itself)")
    if not (MODULES / "mqtt" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm", "apt-get install npm")
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                        str(MODULES.parent), f"mqtt@{MQTT_JS_VERSION}"],
                       check=True, capture_output=True, timeout=600)
    installed = json.loads((MODULES / "mqtt" / "package.json").read_text())
    assert installed["version"] == MQTT_JS_VERSION
    pinned = json.loads((EXAMPLE / "package.json").read_text())["dependencies"]["mqtt"]
    assert pinned == MQTT_JS_VERSION, "examples/node-lock/package.json pins another mqtt"
    return node


def expected_id(tenant: str, seq: int) -> str:
    """The id the example gives its event number ``seq``: UUID v5, computed independently."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant}:nb-{seq}"))


class NodeAdapter:
    """``node examples/node-lock/main.js ...`` with its output in a log file."""

    def __init__(self, node: str, logs: Path, *args: str) -> None:
        self.node = node
        self.logs = logs
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, *extra: str) -> None:
        self.runs += 1
        self._out = open(self.logs / f"node-{self.runs}.log", "wb")  # noqa: SIM115
        env = {**os.environ, "NODE_PATH": str(MODULES)}
        self.proc = subprocess.Popen([self.node, str(EXAMPLE / "main.js"), *self.args, *extra],
                                     stdout=self._out, stderr=subprocess.STDOUT, env=env)

    def log(self) -> str:
        text = ""
        for run in range(1, self.runs + 1):
            path = self.logs / f"node-{run}.log"
            if path.exists():
                text += f"--- node run {run}\n" + path.read_text(errors="replace")[-3000:]
        return text

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def sigkill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._out.close()

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=timeout)
        self._out.close()
        return code

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc is not None and not self._out.closed:
            self._out.close()
