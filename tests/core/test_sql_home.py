"""All SQL lives in the store (gateway/core/store): the engine and its repositories.

A scan of every module of the host and the built-in plugins for SQL statements
in string literals and for calls of a connection's ``execute``; anything found
outside ``gateway/core/store/`` fails, naming the file and line.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STORE = "gateway/core/store/"

STATEMENT = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|"
    r"CREATE\s+(TABLE|INDEX|UNIQUE)\s|ALTER\s+TABLE\s|DROP\s+TABLE\s|WITH\s+\w+\s+AS\s*\()")
CONNECTIONS = frozenset({"conn", "connection", "cur", "cursor", "db", "pg", "src", "dst"})

ALLOWED: dict[str, int] = {
    # A file outside the store that must hold SQL, with how many sites at most (none now:
    # the rules' reads of the event history went to gateway/core/store/repos/rules.py).
}


def sql_sites(source: str) -> list[tuple[int, str]]:
    """(line, what) of each SQL statement literal and each connection ``execute`` call;
    docstrings (which may name a statement) are not SQL."""
    tree = ast.parse(source)
    docs: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docs.add(id(first.value))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docs and STATEMENT.match(node.value)):
            found.append((node.lineno, node.value.strip().splitlines()[0][:60]))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("execute", "executemany", "executescript")
              and isinstance(node.func.value, ast.Name) and node.func.value.id in CONNECTIONS):
            found.append((node.lineno, f"{node.func.value.id}.{node.func.attr}(...)"))
    return sorted(found)


def test_the_scan_finds_statements_and_connection_calls_but_not_docstrings() -> None:
    source = '''
def count(conn, table):
    """SELECT count(*) FROM x is what this does."""
    sql = f"SELECT count(*) FROM {table}"
    conn.execute(sql)
    adapter.execute(command)
    return "UPDATE me later"
'''
    found = sql_sites(source)
    assert [line for line, _ in found] == [4, 5]
    assert found[1][1] == "conn.execute(...)"


def test_no_sql_outside_the_store() -> None:
    files = sorted([*ROOT.glob("gateway/**/*.py"), *ROOT.glob("plugins/**/*.py")])
    assert len(files) > 100  # the scan sees the tree
    wrong: list[str] = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(STORE):
            continue
        sites = sql_sites(path.read_text(encoding="utf-8"))
        if len(sites) > ALLOWED.get(rel, 0):
            wrong += [f"{rel}:{line}: {what}" for line, what in sites]
    assert not wrong, ("SQL outside gateway/core/store (put it in a repository under "
                       "gateway/core/store/repos/):\n" + "\n".join(wrong))


def test_the_store_itself_is_scanned_as_holding_sql() -> None:
    """The repositories are where the SQL went: the scan would see it there."""
    sites = sum(len(sql_sites(p.read_text(encoding="utf-8")))
                for p in (ROOT / STORE / "repos").glob("*.py"))
    assert sites > 50
