"""An older Navet refuses a database whose schema a newer Navet migrated beyond its own.

"Newer" is made two ways: a schema_version row beyond this Navet's migrations (what a
newer Navet leaves), and this Navet's full schema opened by a Navet that knows one
migration less (``MIGRATIONS`` cut short, as an older release has it). Both on SQLite
and on a real PostgreSQL (``pg_server``); ``navet check`` and ``navet serve`` exit 1
with the one line (serve's last log record), no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import gateway.core.store.base as store_base
from gateway.cli import main
from gateway.core.store import make_store
from gateway.core.store.peek import peek_schema_version
from gateway.core.store.schema import MIGRATIONS
from gateway.core.store.version import SchemaTooNewError
from tests.postgres import PgServer
from tests.services import free_port

KNOWN = len(MIGRATIONS)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "navet.db")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.url(f"ver{os.getpid()}_{time.monotonic_ns()}")


def _migrated_by_a_newer_navet(database: str, newer: int) -> None:
    store = make_store(database)
    store.open()
    store.close()
    conn = make_store(database).connect()
    try:
        conn.execute("INSERT INTO schema_version VALUES (?)", (newer,))
    finally:
        conn.close()


def _versions(database: str) -> list[int]:
    conn = make_store(database).connect()
    try:
        return sorted(int(r[0]) for r in conn.execute("SELECT version FROM schema_version"))
    finally:
        conn.close()


def test_a_newer_schema_is_refused_at_open_naming_both_versions(database: str) -> None:
    _migrated_by_a_newer_navet(database, KNOWN + 2)
    store = make_store(database)
    with pytest.raises(SchemaTooNewError) as err:
        store.open()
    said = str(err.value)
    assert f"schema version {KNOWN + 2}, newer than this Navet" in said
    assert f"(schema {KNOWN})" in said
    assert "restore the backup taken before the upgrade" in said and "newer Navet" in said
    assert err.value.found == KNOWN + 2 and err.value.known == KNOWN
    assert _versions(database) == [*range(1, KNOWN + 1), KNOWN + 2]  # nothing written
    assert peek_schema_version(database) == KNOWN + 2


def test_an_older_navet_refuses_the_schema_this_one_migrated(
        database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = make_store(database)
    store.open()
    store.close()
    monkeypatch.setattr(store_base, "MIGRATIONS", store_base.MIGRATIONS[:-1])  # one release ago
    with pytest.raises(SchemaTooNewError, match=f"schema version {KNOWN}, .*schema {KNOWN - 1}"):
        make_store(database).open()


def test_the_same_and_an_older_schema_open(database: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(store_base, "MIGRATIONS", store_base.MIGRATIONS[:3])  # an older database
        old = make_store(database)
        old.open()
        old.close()
    assert peek_schema_version(database) == 3
    store = make_store(database)
    store.open()  # migrates forward
    store.close()
    assert peek_schema_version(database) == KNOWN
    again = make_store(database)
    again.open()
    again.close()


def test_peek_creates_nothing(tmp_path: Path, pg_server: PgServer) -> None:
    assert peek_schema_version(tmp_path / "none.db") is None
    assert not (tmp_path / "none.db").exists()
    assert peek_schema_version(pg_server.url(f"empty{os.getpid()}")) is None
    down = f"postgresql://navet@127.0.0.1:{free_port()}/navet"
    assert peek_schema_version(down) is None  # what only a start can tell


# --------------------------------------------------------------------------- the commands


def _config(tmp_path: Path, database: str) -> Path:
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "data_dir": str(tmp_path / "data"), "database": database,
        "mqtt": {"mode": "memory"}, "http": {"host": "127.0.0.1", "port": free_port()},
    }), encoding="utf-8")
    return config


def test_navet_check_refuses_a_newer_schema_in_one_line(
        tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NAVET_DATABASE", raising=False)
    config = _config(tmp_path, database)
    assert main(["check", "--config", str(config)]) == 0  # no database yet: nothing to say
    _migrated_by_a_newer_navet(database, KNOWN + 1)
    capsys.readouterr()
    assert main(["check", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("navet: error: database ") and err.count("\n") == 1, err
    assert f"schema version {KNOWN + 1}" in err and f"(schema {KNOWN})" in err


def test_navet_serve_exits_1_with_the_one_line(tmp_path: Path, database: str) -> None:
    _migrated_by_a_newer_navet(database, KNOWN + 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAVET_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--config",
         str(_config(tmp_path, database))],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    said = json.loads(lines[-1])  # serve logs (JSON lines): one error record, its one line
    assert said["level"] == "error", said
    assert said["message"].startswith("navet could not start: database "), said
    assert f"schema version {KNOWN + 1}, newer than this Navet" in said["message"]
    assert "restore the backup" in said["message"] and "\n" not in said["message"]
    assert _versions(database)[-1] == KNOWN + 1
