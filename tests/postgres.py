"""A throwaway PostgreSQL server for tests: its own data directory, port and lifetime.

``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` system user (Debian's postgresql package creates it). Data goes to
a temporary directory with ``fsync=off``: these servers hold nothing that must
survive a power cut, and the tests that kill processes kill Navet, not the
database.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from gateway.core.store import is_postgres, schema_of, with_schema

_schemas = itertools.count(1)

HOW = ("apt-get install postgresql (the tests start their own server; "
       "pip install 'psycopg[binary]' for the driver)")


def find_bindir() -> Path | None:
    """The directory with initdb and pg_ctl, newest version first, or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def driver_available() -> bool:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


class PgServer:
    """One PostgreSQL server on 127.0.0.1:``port`` with trust authentication for user navet."""

    def __init__(self, bindir: Path, port: int) -> None:
        self.bindir = bindir
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="navet-pg-"))
        self.data = self.root / "data"
        self._as: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._as, *args], check=check, capture_output=True, text=True,
                              timeout=120)

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "navet",
                  "-E", "UTF8", "--no-sync", "--locale=C.UTF-8")

    def start(self) -> None:
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                " -c full_page_writes=off -c max_connections=400 -c shared_buffers=64MB")
        result = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts,
                           "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
                           check=False)
        if result.returncode != 0:
            log = (self.root / "server.log")
            raise RuntimeError(f"PostgreSQL did not start: {result.stderr.strip()}\n"
                               f"{log.read_text() if log.exists() else ''}")
        self._wait_ready()
        self._run(str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "navet", "-d", "postgres", "-q", "-c", "CREATE DATABASE navet", check=False)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ok = self._run(str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p",
                           str(self.port), check=False)
            if ok.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("PostgreSQL did not become ready in 30 s")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                  check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, schema: str | None = None) -> str:
        base = f"postgresql://navet@127.0.0.1:{self.port}/navet"
        return with_schema(base, schema) if schema else base

    def fresh_url(self) -> str:
        """A URL whose schema no one has used yet: each test gets an empty database."""
        return fresh_schema(self.url())


def fresh_schema(url: str) -> str:
    """``url`` with a schema no one has used yet (the server's database is shared)."""
    return with_schema(url, f"t{os.getpid()}_{next(_schemas)}")


def start_server(port: int) -> PgServer:
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError(f"PostgreSQL is not installed: {HOW}")
    server = PgServer(bindir, port)
    server.init()
    server.start()
    return server


def stored_bytes(store: object) -> bytes:
    """Everything ``store`` holds, as bytes: the SQLite files, or every row of every table
    in the PostgreSQL schema as text. For tests that search for what must not be stored."""
    from gateway.core.store import SQLiteStore

    if isinstance(store, SQLiteStore):
        parts = [Path(store.path + suffix) for suffix in ("", "-wal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    conn = store.connect()  # type: ignore[attr-defined]
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
        assert tables, "the schema has no tables"
        out = []
        for table in tables:
            for row in conn.execute(f'SELECT t::text FROM "{table}" t'):  # names from pg_tables
                out.append(str(row[0]).encode())
        return b"\n".join(out)
    finally:
        conn.close()


def set_writable(store: object, writable: bool) -> None:
    """Make the store's writer unable (or able again) to commit, as a full or failing disk
    does: SQLite ``query_only``; on PostgreSQL, read-only transactions."""
    conn = store._write_conn  # type: ignore[attr-defined]
    if store.kind == "sqlite":  # type: ignore[attr-defined]
        conn.execute(f"PRAGMA query_only = {0 if writable else 1}")
    else:
        conn.execute(f"SET default_transaction_read_only = {'off' if writable else 'on'}")


def query_database(database: str | Path, sql: str, args: tuple[object, ...] = ()) -> list[tuple]:
    """Rows of ``sql`` from a database another process writes (a SQLite file opened
    read-only, or a PostgreSQL URL); [] while its schema does not exist yet."""
    import sqlite3

    from gateway.core.store import make_store

    text = str(database)
    if not is_postgres(text):
        if not Path(text).exists():
            return []
        lite = sqlite3.connect(f"file:{text}?mode=ro", uri=True, timeout=5)
        try:
            return [tuple(r) for r in lite.execute(sql, args)]
        except sqlite3.OperationalError:  # no schema yet
            return []
        finally:
            lite.close()
    import psycopg

    conn = make_store(text).connect()
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    except psycopg.errors.UndefinedTable:
        return []
    finally:
        conn.close()


_by_dir: dict[str, str] = {}


def reset_databases() -> None:
    """Forget which data directory had which schema (before each test)."""
    _by_dir.clear()


def database_of(data_dir: Path | str) -> str:
    """The database a gateway with ``data_dir`` and no ``database`` setting uses in this run.

    On SQLite that is ``data_dir/navet.db``, so two gateways of one test never share
    a store. On PostgreSQL every test has one schema (``NAVET_DATABASE``); the first data
    directory a test uses gets it (a gateway subprocess reads the same variable), and
    every other data directory gets a schema of its own, as on SQLite.
    """
    url = os.environ.get("NAVET_DATABASE")
    if not url:
        return str(Path(data_dir) / "navet.db")
    key = str(Path(data_dir).resolve())
    if key not in _by_dir:
        n = len(_by_dir)
        _by_dir[key] = url if n == 0 else with_schema(url, f"{schema_of(url)}_{n}")
    return _by_dir[key]
