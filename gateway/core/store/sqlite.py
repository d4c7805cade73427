"""SQLite in WAL mode: the embedded default store.

Reads run beside the writer (WAL). ``synchronous=FULL`` (the default) makes a
commit durable before Navet acknowledges a device.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .base import Store


class SQLiteStore(Store):
    kind = "sqlite"
    begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, path: str | Path, *, synchronous: str = "FULL",
                 max_batch: int = 512) -> None:
        super().__init__(str(path), max_batch=max_batch)
        self.path = str(path)
        self.synchronous = synchronous

    def prepare(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

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
