"""SQLite's durability setting: FULL by default, OFF only for tests and refused in production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.core.settings import Settings
from gateway.core.store import SQLiteStore, make_store


@pytest.mark.parametrize(("level", "pragma", "durable"),
                         [("FULL", 2, True), ("NORMAL", 1, True), ("off", 0, False)])
def test_the_store_commits_with_the_synchronous_level_it_was_given(
    tmp_path: Path, level: str, pragma: int, durable: bool,
) -> None:
    store = make_store(tmp_path / "navet.db", synchronous=level)
    assert isinstance(store, SQLiteStore)
    store.open()
    try:
        assert store._write_conn.execute("PRAGMA synchronous").fetchone()[0] == pragma
        assert store.durable is durable
    finally:
        store.close()


def test_the_default_is_durable(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).db_synchronous == "FULL"
    assert SQLiteStore(tmp_path / "navet.db").durable


def test_an_unknown_level_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not 'EXTRA; DROP'"):
        SQLiteStore(tmp_path / "navet.db", synchronous="EXTRA; DROP")


def test_production_refuses_a_store_that_is_not_durable(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="db_synchronous OFF is for tests"):
        Settings(data_dir=tmp_path, environment="production", db_synchronous="OFF",
                 auth={"mode": "local"}, mqtt={"mode": "embedded"})
    assert Settings(data_dir=tmp_path, environment="development",
                    db_synchronous="OFF").db_synchronous == "OFF"
