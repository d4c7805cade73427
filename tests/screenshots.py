"""Renew docs/console.md's pictures from the browser tests' screenshots.

    python3 -m tests.screenshots          # run the browser tests, then copy
    python3 -m tests.screenshots --copy   # only copy what the last run left

The browser tests (real Chromium) save a picture of each screen they check into
``NAVET_SCREENSHOTS`` (default ``.cache/screenshots``). This copies every picture that
docs/console.md shows (``![…](console/NAME.png)``) from there into docs/console/, and says
which ones no test made, so the documentation shows the screens as the tests saw them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "console.md"
TARGET = ROOT / "docs" / "console"
TESTS = ["tests/api/test_console_browser.py", "tests/api/test_homecare_browser.py",
         "tests/api/test_gpsmap_browser.py", "tests/api/test_followup_browser.py",
         "tests/api/test_admin_browser.py", "tests/api/test_catalogue_browser.py"]
"""The browser tests that take the pictures (a new screen's test adds itself here)."""


def shown(doc: Path = DOC) -> list[str]:
    """The pictures docs/console.md shows, by file name, in order."""
    return re.findall(r"!\[[^\]]*\]\(console/([\w.-]+\.png)\)", doc.read_text("utf-8"))


def source_dir() -> Path:
    return Path(os.environ.get("NAVET_SCREENSHOTS") or ROOT / ".cache" / "screenshots")


def copy(source: Path, target: Path = TARGET, doc: Path = DOC) -> tuple[list[str], list[str]]:
    """Copy the pictures the document shows; (copied, missing)."""
    target.mkdir(parents=True, exist_ok=True)
    copied, missing = [], []
    for name in shown(doc):
        found = source / name
        if found.is_file():
            shutil.copyfile(found, target / name)
            copied.append(name)
        else:
            missing.append(name)
    return copied, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.screenshots", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copy", action="store_true",
                        help="do not run the tests; copy what the last run left")
    args = parser.parse_args(argv)
    source = source_dir()
    if not args.copy:
        env = {**os.environ, "NAVET_SCREENSHOTS": str(source), "NAVET_REQUIRE_SERVICES": "1"}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", *TESTS], cwd=ROOT,
                              env=env, check=False)
        if done.returncode != 0:
            print("the browser tests failed: no pictures copied", file=sys.stderr)
            return done.returncode
    copied, missing = copy(source)
    print(f"copied {len(copied)} picture(s) from {source} to {TARGET}: {', '.join(copied)}")
    if missing:
        print(f"no test made: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
