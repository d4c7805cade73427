"""Which tests touch the store: the PostgreSQL pass runs only those (``-m store``).

The SQLite pass watches every test: a test that opens a store (``Store.open`` or a
store connection) or starts a Navet process (``navet``/``python -m gateway...``, a
script that builds a gateway, a benchmark) touches the store. Those are listed in
``tests/store_tests.txt``, and every listed test gets the ``store`` marker, as do tests
that ask for a PostgreSQL server or this run's database. A test that touched the store
but is not listed fails the SQLite pass with the command that renews the list, so the
PostgreSQL pass can never silently leave a store test out::

    NAVET_STORE_TESTS=record python3 -m pytest    # rewrites tests/store_tests.txt
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LIST = Path(__file__).with_name("store_tests.txt")
RECORD = "NAVET_STORE_TESTS"
"""``record``: the SQLite pass rewrites the list from what the tests did."""
STORE_FIXTURES = frozenset({"pg_server", "database"})
_NAVET_PROCESS = re.compile(
    r"gateway\.cli|gateway\.demo|(^|[/\s])navet(\s|$)|Gateway\(|gateway\.core|bench/|"
    r"gateway/cli|\bserve\b")


def key(item: pytest.Item) -> str:
    """``path::Class::name`` without parameters: one line per test function."""
    return item.nodeid.split("[", 1)[0]


def listed() -> frozenset[str]:
    if not LIST.exists():
        return frozenset()
    return frozenset(line.strip() for line in LIST.read_text("utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))


def mark(items: list[pytest.Item]) -> None:
    known = listed()
    for item in items:
        asks = STORE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if not LIST.exists() or key(item) in known or asks:
            item.add_marker(pytest.mark.store)


_used: set[str] = set()


def _touched(args: Any) -> bool:
    text = " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)
    return bool(_NAVET_PROCESS.search(text))


@pytest.fixture(autouse=True)
def _watch_store_use(request: pytest.FixtureRequest,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from gateway.core.store.base import Store
    from gateway.core.store.postgres import PostgresStore
    from gateway.core.store.sqlite import SQLiteStore

    flag: list[bool] = []

    def wrap(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def watched(self: Any, *args: Any, **kwargs: Any) -> Any:
            flag.append(True)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, watched)

    wrap(Store, "open")
    wrap(SQLiteStore, "_connect")
    wrap(PostgresStore, "_connect")
    popen_init = subprocess.Popen.__init__

    def popen(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        if _touched(args):
            flag.append(True)
        popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", popen)
    yield
    if not flag:
        return
    _used.add(key(request.node))
    if os.environ.get(RECORD) == "record" or not LIST.exists():
        return
    backend = os.environ.get("NAVET_TEST_DATABASE", "").strip() or "sqlite"
    if backend == "sqlite" and request.node.get_closest_marker("store") is None:
        pytest.fail(f"{key(request.node)} touches the store but is not in tests/store_tests.txt,"
                    f" so the PostgreSQL pass would leave it out: add it (or run "
                    f"{RECORD}=record python3 -m pytest to renew the list)", pytrace=False)


def write_record(session: pytest.Session) -> None:
    """At the end of a ``record`` run: the list is what this run saw, kept sorted."""
    if os.environ.get(RECORD) != "record":
        return
    ran = {key(item) for item in session.items}
    keep = {k for k in listed() if k not in ran}  # tests this run did not reach stay
    lines = sorted(keep | _used)
    LIST.write_text("# Tests that touch the store; the PostgreSQL pass runs these "
                    "(tests/store_use.py).\n" + "\n".join(lines) + "\n", "utf-8")
