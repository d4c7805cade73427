"""A real ``navet serve`` subprocess to attack from outside, as an outsider would.

The attack tests under ``tests/adversarial/`` talk to Navet only over its sockets (HTTP,
DC-09, SIP, MQTT) with tokens made by ``navet token create``: nothing in-process, so what they
show holds for a deployed gateway. Two municipalities by default, ``vasteras`` and ``sala``,
each with a resident and staff, and ``auth.mode: local``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.services import free_port

START_TIMEOUT = 60.0

CARE: dict[str, Any] = {
    "tenants": [
        {
            "id": "vasteras",
            "name": "Västerås stad",
            "residents": [{"id": "v-1", "label": "Lgh 1102"}],
            "staff": [{"id": "v-staff-1", "label": "Anna"}],
        },
        {
            "id": "sala",
            "name": "Sala kommun",
            "residents": [{"id": "s-1", "label": "Storgatan 4"}],
            "staff": [{"id": "s-staff-1", "label": "Bertil"}],
        },
    ]
}


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test runner's environment, minus NAVET_* settings other than the store's."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NAVET_") or k in ("NAVET_DATABASE", "NAVET_REQUIRE_SERVICES")}
    env.update(extra or {})
    return env


class ServedGateway:
    """``navet serve --config FILE`` in a subprocess; logs kept in ``<dir>/navet.log``."""

    def __init__(self, directory: Path, settings: dict[str, Any],
                 care: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        care_file = self.dir / "care.yaml"
        care_file.write_text(yaml.safe_dump(care if care is not None else CARE,
                                            allow_unicode=True), encoding="utf-8")
        self.settings: dict[str, Any] = {
            "data_dir": str(self.dir / "data"),
            "mqtt": {"mode": "memory"},
            "http": {"host": "127.0.0.1", "port": self.http_port},
            "auth": {"mode": "local"},
            "log_format": "json",
            "care_config": [str(care_file)],
            **settings,
        }
        self.config = self.dir / "navet.yaml"
        self.config.write_text(yaml.safe_dump(self.settings, allow_unicode=True),
                               encoding="utf-8")
        self.env = _clean_env(env)
        self.log_path = self.dir / "navet.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self._log = open(self.log_path, "ab")  # noqa: SIM115  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--config", str(self.config)],
            stdout=self._log, stderr=subprocess.STDOUT, env=self.env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.poll() is None, f"navet serve exited:\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"navet serve not ready:\n{self.log_tail()}"
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def token(self, tenant: str | list[str], role: str | list[str], subject: str) -> str:
        """A bearer token from ``navet token create`` against this gateway's key."""
        tenants = [tenant] if isinstance(tenant, str) else tenant
        roles = [role] if isinstance(role, str) else role
        args = [sys.executable, "-m", "gateway.cli", "token", "create", "--config",
                str(self.config), "--subject", subject]
        for t in tenants:
            args += ["--tenant", t]
        for r in roles:
            args += ["--role", r]
        done = subprocess.run(args, capture_output=True, text=True, timeout=60, env=self.env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@contextmanager
def served(directory: Path, settings: dict[str, Any] | None = None,
           care: dict[str, Any] | None = None,
           env: dict[str, str] | None = None) -> Iterator[ServedGateway]:
    """Start a gateway, yield it, stop it (SIGTERM) whatever happens."""
    gateway = ServedGateway(directory, settings or {}, care, env)
    try:
        gateway.start()
        yield gateway
    finally:
        gateway.stop()
