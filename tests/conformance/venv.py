"""A clean virtual environment with Navet installed from this checkout, for tests that
install plugins as separate distributions (the tutorial, the example plugin).

``--system-site-packages`` lends it Navet's dependencies without a network; Navet itself
is installed into it from the checkout (``--no-deps``), so ``navet`` and its entry points
are the venv's own, and so are the plugins the tests install next to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Venv:
    path: Path

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["VIRTUAL_ENV"] = str(self.path)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        return env

    def run(self, script: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """``script`` in bash with the venv active; stdout and stderr together."""
        return subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n. {self.bin}/activate\n{script}"],
            cwd=cwd, env=self.env(), text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=timeout, check=False)


def make_venv(where: Path) -> Venv:
    venv = Venv(where / "venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv.path)],
                   check=True, timeout=300)
    done = venv.run(f"pip install -q --no-deps -e {ROOT}", cwd=where)
    assert done.returncode == 0, done.stdout
    which = venv.run("python -c 'import gateway; print(gateway.__file__)'", cwd=where)
    assert which.stdout.strip() == str(ROOT / "gateway" / "__init__.py"), which.stdout
    return venv
