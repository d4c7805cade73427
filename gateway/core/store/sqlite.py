"""SQLite in WAL mode: the embedded default store.

Reads run beside the writer (WAL). ``synchronous=FULL`` (the default) makes a
commit durable before Navet acknowledges a device; ``NORMAL`` may lose the last
commits at a power cut (never at a crash of Navet). ``OFF`` hands commits to the
operating system without waiting for the disk at all: it is for tests that step
a fake clock through hours of device life (each step commits), never for a
deployment (settings refuse it in production).

The database file is created 0600 (its directory 0700) before SQLite opens it;
SQLite gives the ``-wal`` and ``-shm`` files the database file's mode, so all
three stay private (:mod:`gateway.core.security.files`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..security.files import create_private
from ..security.pii import PiiCipher
from .base import Store

SYNCHRONOUS = ("FULL", "NORMAL", "OFF")
"""SQLite's ``synchronous`` levels Navet accepts, most durable first."""


class SQLiteStore(Store):
    kind = "sqlite"
    begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 max_batch: int = 512, cipher: PiiCipher | None = None) -> None:
        super().__init__(str(path), max_batch=max_batch, cipher=cipher)
        level = synchronous.upper()
        if level not in SYNCHRONOUS:  # it is formatted into a PRAGMA below
            raise ValueError(f"SQLite synchronous is one of {', '.join(SYNCHRONOUS)}, "
                             f"not {synchronous!r}")
        self.path = str(path)
        self.synchronous = level

    @property
    def durable(self) -> bool:
        """Whether a commit is on disk when it returns (survives a crash of the machine)."""
        return self.synchronous != "OFF"

    def prepare(self) -> None:
        if self.path != ":memory:":
            create_private(Path(self.path))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.row_factory = sqlite3.Row
        return conn

    def _is_fatal(self, err: BaseException) -> bool:
        return isinstance(err, sqlite3.OperationalError)

    # Reader connections (one per thread that read) are not closed at close(): a worker
    # thread may still be inside a query, and closing a connection under a running
    # statement crashes SQLite. They close when the store is garbage-collected.
