"""Copy everything one store holds into another: moving from the embedded SQLite to PostgreSQL.

``navet store copy --config navet.yaml --to postgresql://…`` (gateway/cli/store.py).
The source is read in one snapshot, so a gateway may keep running on it; the
target must be empty, is written in one transaction (all or nothing), and is
held with the writer lock, so no gateway writes to it meanwhile. Ids, sequence
numbers, the audit log's keyed chain and anchors, the subscriptions' sealed
settings (the target needs the same data key file) and the outbox (what each
consumer has yet to get) come over unchanged; the target's own counters
continue after them. Rows are read and written in chunks (a server-side cursor
on PostgreSQL), so a large store needs little memory. A SQLite target is
created 0600.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.errors import ConfigError

from .base import Store
from .records import TABLES as TABLES  # its home is the records, where the repositories see it


def _name(column: Any) -> str:
    return str(getattr(column, "name", None) or column[0])


def copy_store(source: Store, target: Store, *, chunk: int = 2000,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row from ``source`` into the empty ``target`` (both open); rows per table.

    :raises ConfigError: the schemas differ in version, or the target is not empty.
    """
    if source.schema_version != target.schema_version:
        raise ConfigError(f"the source is at schema {source.schema_version} and the target at "
                          f"{target.schema_version}; open both with the same Navet version")
    src, dst = source.connect(), target.connect()
    try:
        full = [t for t, _ in TABLES
                if dst.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]  # fixed names
        if full:
            raise ConfigError(f"the target {target.label} is not empty ({', '.join(full)}); "
                              "copy into a new database or schema")
        src.execute(source.snapshot_sql)
        dst.execute(target.begin_sql)
        counts: dict[str, int] = {}
        try:
            for table, order in TABLES:
                select = f"SELECT * FROM {table} ORDER BY {order}"  # fixed names
                stream = getattr(src, "stream", None)  # PostgreSQL: a server-side cursor
                cur = stream(select, chunk=chunk) if stream else src.execute(select)
                names = [_name(c) for c in cur.description]
                insert = (f"INSERT INTO {table} ({', '.join(names)})"  # names from the schema
                          f" VALUES ({', '.join('?' for _ in names)})")
                n = 0
                while rows := cur.fetchmany(chunk):
                    dst.executemany(insert, [tuple(r) for r in rows])
                    n += len(rows)
                counts[table] = n
                if progress is not None:
                    progress(table, n)
            target.continue_counters(dst)
            dst.execute("COMMIT")
        except BaseException:
            dst.execute("ROLLBACK")
            raise
        finally:
            src.execute("ROLLBACK")  # ends the snapshot; nothing was written there
        return counts
    finally:
        src.close()
        dst.close()
