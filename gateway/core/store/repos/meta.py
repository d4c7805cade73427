"""Facts about the database as a whole (``navet store info``)."""

from __future__ import annotations

from ..records import TABLES, DbConnection


def row_counts(conn: DbConnection) -> dict[str, int]:
    """Rows in each of Navet's tables."""
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # fixed names
            for t, _ in TABLES}
