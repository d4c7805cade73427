"""What pyproject.toml cannot say: a built wheel carries the published contract.

``contracts/`` stays at the repository's root (the published contract's home, read by
vendors and consumers there). The runtime needs it too: the built-in plugins' signatures
and the key that verifies them, the adapter catalogue and its conformance reports, the
JSON Schemas of the conformance kit. So ``build_py`` copies it into the built package as
``gateway/contracts/published/``, where :mod:`gateway.core.published` finds it. An
editable install reads the tree's own ``contracts/`` and gets no copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithContracts(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "gateway" / "contracts" / "published"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(ROOT / "contracts", target,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithContracts})
