"""The audit log's rows: the hash chain, its prune anchors, and reading entries back.

What an entry means and how the chain is verified live in
:mod:`gateway.core.audit` and :mod:`gateway.core.audit_verify`; this module
only reads and writes the rows, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..records import DbConnection


def last_entry(conn: DbConnection) -> tuple[int, str] | None:
    """Sequence number and hash of the newest entry (None: the log is empty)."""
    row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def head_key(conn: DbConnection) -> tuple[int, str | None] | None:
    """Sequence number and key id of the newest entry (None: the log is empty)."""
    row = conn.execute("SELECT seq, kid FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), None if row[1] is None else str(row[1]))


def insert_entry(conn: DbConnection, row: Mapping[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO audit_log ({', '.join(row)}) VALUES "  # fixed column names
        f"({', '.join('?' for _ in row)})", tuple(row.values()))


def entries(conn: DbConnection, tenant: str, *, resident: str | None = None,
            device: str | None = None, actor: str | None = None,
            since: str | None = None, until: str | None = None, action: str | None = None,
            limit: int = 100) -> list[Any]:
    """A tenant's entry rows, newest first. ``since`` (inclusive) and ``until`` (exclusive)
    are times as the log writes them; ``action`` matches actions containing it, any case."""
    sql = ["SELECT * FROM audit_log WHERE tenant = ?"]
    args: list[Any] = [tenant]
    for col, val in (("resident", resident), ("device", device), ("actor", actor)):
        if val is not None:
            sql.append(f"AND {col} = ?")
            args.append(val)
    if since is not None:
        sql.append("AND time >= ?")
        args.append(since)
    if until is not None:
        sql.append("AND time < ?")
        args.append(until)
    if action:
        escaped = action.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_")
        sql.append("AND LOWER(action) LIKE ? ESCAPE '\\'")
        args.append(f"%{escaped}%")
    sql.append("ORDER BY seq DESC LIMIT ?")
    args.append(limit)
    return list(conn.execute(" ".join(sql), args).fetchall())


def resident_entries(conn: DbConnection, tenant: str, resident: str) -> list[dict[str, Any]]:
    """Every entry about ``resident``, oldest first (a data subject's export)."""
    return [dict(r) for r in conn.execute(
        "SELECT * FROM audit_log WHERE tenant = ? AND resident = ? ORDER BY seq",
        (tenant, resident))]


def hash_at(conn: DbConnection, seq: int) -> str | None:
    row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


def rows_after(conn: DbConnection, after: int, upto: int | None = None) -> Iterable[Any]:
    """The entry rows after ``after`` (up to ``upto``), oldest first, as a cursor."""
    sql, args = "SELECT * FROM audit_log WHERE seq > ?", [after]
    if upto is not None:
        sql += " AND seq <= ?"
        args.append(upto)
    return conn.execute(sql + " ORDER BY seq", args)  # type: ignore[no-any-return]


def first_since(conn: DbConnection, when: str) -> int | None:
    """The first entry at or after ``when`` (ISO text)."""
    row = conn.execute("SELECT min(seq) FROM audit_log WHERE time >= ?", (when,)).fetchone()
    return None if row[0] is None else int(row[0])


def head_seq(conn: DbConnection) -> int | None:
    row = conn.execute("SELECT max(seq) FROM audit_log").fetchone()
    return None if row[0] is None else int(row[0])


def latest_anchor_row(conn: DbConnection) -> Any:
    """The newest prune anchor row (seq, hash, time, kid, mac), or None."""
    return conn.execute("SELECT seq, hash, time, kid, mac FROM audit_anchor "
                        "ORDER BY seq DESC LIMIT 1").fetchone()


def insert_anchor(conn: DbConnection, seq: int, hash: str, time: str, kid: str,
                  mac: str) -> None:
    conn.execute("INSERT INTO audit_anchor (seq, hash, time, kid, mac) VALUES (?,?,?,?,?)",
                 (seq, hash, time, kid, mac))


def delete_upto(conn: DbConnection, seq: int) -> int:
    """Delete the entries up to ``seq``; how many went."""
    return int(conn.execute("DELETE FROM audit_log WHERE seq <= ?", (seq,)).rowcount)


def has_audit_table_postgres(conn: DbConnection) -> bool:
    return conn.execute("SELECT to_regclass('audit_log')").fetchone()[0] is not None


def has_audit_table_sqlite(conn: DbConnection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                        "'audit_log'").fetchone() is not None


def has_allowed_session(conn: DbConnection, tenant: str, action: str, session: str) -> bool:
    """Whether an ``allowed`` entry of ``action`` names ``session`` in its detail."""
    return conn.execute(
        "SELECT 1 FROM audit_log WHERE tenant = ? AND action = ? AND decision = "
        "'allowed' AND json_extract(detail, '$.session') = ? LIMIT 1",
        (tenant, action, session)).fetchone() is not None
