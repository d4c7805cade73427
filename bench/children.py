"""Benchmark child processes: started with a bounded life, read line by line, always reaped.

Children talk to the parent on stdout: a ``READY`` line once they can take
traffic, then one JSON line with their figures. Every wait here has a
deadline, and ``stop`` escalates from SIGTERM to SIGKILL, so a stuck broker or
gateway can never hang the benchmark (or the smoke test that runs it).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent


class ChildError(RuntimeError):
    """A child process failed, said something unexpected, or ran out of time."""


class Child:
    def __init__(self, name: str, argv: list[str], *, cwd: Path | None = None) -> None:
        self.name = name
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            argv, cwd=cwd or ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True).start()

    @classmethod
    def python(cls, name: str, module: str, *args: str) -> Child:
        return cls(name, [sys.executable, "-m", module, *args])

    def _pump(self, stream: IO[str], is_stdout: bool) -> None:
        for line in stream:
            if is_stdout:
                self._lines.put(line.rstrip("\n"))
            else:
                self._stderr.append(line)
                del self._stderr[:-40]  # keep the tail for error messages
        if is_stdout:
            self._lines.put(None)

    def line(self, timeout: float) -> str:
        """The next stdout line, or ``ChildError`` if none comes within ``timeout``."""
        try:
            line = self._lines.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise ChildError(f"{self.name}: no output within {timeout:.0f} s{self._tail()}") \
                from None
        if line is None:
            self.proc.wait(timeout=5)
            raise ChildError(
                f"{self.name} exited with code {self.proc.returncode}{self._tail()}"
            )
        return line

    def expect_ready(self, timeout: float) -> None:
        line = self.line(timeout)
        if line != "READY":
            raise ChildError(f"{self.name}: expected READY, got {line!r}{self._tail()}")

    def result(self, timeout: float) -> dict[str, Any]:
        """The child's JSON figures (its last stdout line before it exits)."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(deadline - time.monotonic())
            if line.startswith("{"):
                figures: dict[str, Any] = json.loads(line)
                if "error" in figures:
                    raise ChildError(f"{self.name}: {figures['error']}{self._tail()}")
                return figures

    def _tail(self) -> str:
        text = "".join(self._stderr[-15:]).strip()
        return f"\n--- {self.name} stderr ---\n{text}" if text else ""

    def stop(self, grace: float = 5.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=grace)


def emit(figures: dict[str, Any]) -> None:
    """What a child calls last: its figures as one JSON line on stdout."""
    print(json.dumps(figures), flush=True)
