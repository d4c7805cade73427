"""Files that hold secrets or personal data: created private, checked at start.

The data directory holds the SQLite database (with its ``-wal`` and ``-shm``), the
key files (data keys that seal personal numbers and stored secrets, the audit key,
the API signing key, the device CA's key) and the audit checkpoints. Navet creates
every one of them private: directories ``0700``, files ``0600``, whatever the umask.
Exports a command writes (``navet privacy export --out``, ``navet audit export``,
a SQLite target of ``navet store copy``) are created ``0600`` too.

Modes of what already exists are not changed behind the operator's back: at start
:func:`check_private` lists each path that group or others may read or write, with
its mode and the ``chmod`` that fixes it; :func:`enforce_private` logs a warning
per finding in development and refuses to start in production.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import ConfigError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700; an existing one is left
    as it is (the start check says when it is too wide)."""
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is checked at start
        os.chmod(directory, PRIVATE_DIR)  # mkdir's mode passes through the umask
    return path


def create_private(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 if it does not exist; True if it was made.

    SQLite gives its ``-wal`` and ``-shm`` files the mode of the database file, so a
    database created this way keeps all three private."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.fchmod(fd, PRIVATE_FILE)
    os.close(fd)
    return True


def write_private(path: Path, data: str | bytes) -> None:
    """Replace ``path`` atomically with ``data`` in a new file of mode 0600 (an existing
    wider file is replaced, not reused)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def open_append_private(path: Path) -> int:
    """A descriptor appending to ``path`` (created 0600 if missing)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    if os.fstat(fd).st_size == 0:
        os.fchmod(fd, PRIVATE_FILE)
    return fd


@dataclass(frozen=True, slots=True)
class ModeFinding:
    """A path that group or others may read or write."""

    path: Path
    mode: int
    want: int

    @property
    def kind(self) -> str:
        return "directory" if self.want == PRIVATE_DIR else "file"

    def __str__(self) -> str:
        return (f"{self.kind} {self.path} has mode {self.mode:04o}, wider than "
                f"{self.want:04o} (fix: chmod {self.want:o} {self.path})")


def _finding(path: Path, want: int) -> ModeFinding | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    return ModeFinding(path, mode, want) if mode & 0o077 else None


def check_private(dirs: Iterable[Path] = (), files: Iterable[Path] = ()) -> list[ModeFinding]:
    """Each existing path in ``dirs`` or ``files`` that group or others may use (missing
    paths are no finding: what Navet creates later is created private)."""
    found = [_finding(d, PRIVATE_DIR) for d in dict.fromkeys(dirs)]
    found += [_finding(f, PRIVATE_FILE) for f in dict.fromkeys(files)]
    return [f for f in found if f is not None]


def enforce_private(findings: list[ModeFinding], *, production: bool,
                    log: logging.Logger) -> None:
    """Warn about each finding in development; refuse all of them at once in production.

    :raises ConfigError: in production, when there is any finding.
    """
    if not findings:
        return
    if production:
        raise ConfigError("production refuses to start while others may read its data: "
                          + "; ".join(str(f) for f in findings))
    for finding in findings:
        log.warning("%s; production refuses this", finding)
