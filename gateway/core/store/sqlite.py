"""SQLite in WAL mode: the embedded default store.

Reads run beside the writer (WAL). ``synchronous=FULL`` (the default) makes a
commit durable before Navet acknowledges a device.

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


class SQLiteStore(Store):
    kind = "sqlite"
    begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 max_batch: int = 512, cipher: PiiCipher | None = None) -> None:
        super().__init__(str(path), max_batch=max_batch, cipher=cipher)
        self.path = str(path)
        self.synchronous = synchronous

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
