"""PostgreSQL: raw frames partitioned by month, so retention drops whole months.

Heartbeats and bursts make ``frames`` the table that grows fastest and is kept the
shortest; deleting its old rows one by one costs as much as writing them did, and
leaves the table bloated until a vacuum. On PostgreSQL, ``frames`` is therefore
partitioned by range of ``received`` (ISO text, compared byte by byte), one partition
per month (``frames_y2026m01``), plus a ``frames_default`` partition that takes any
row no month partition holds yet (a clock far off, partitions not made ahead), so an
insert never fails for want of a partition. :func:`ensure` makes the months ahead and
moves rows out of the default partition into their month; :func:`droppable` names the
months a prune may drop whole (every row past the cutoff and no dead letter referring
to one), and the rest is deleted a chunk at a time like on SQLite.

A frame is content-addressed (``ref``); the primary key of a partitioned table must
hold the partition key, so it is ``(ref, received)`` and a frame received again in
another month is stored again there (``insert_frame`` skips one already stored in any
month). Dead letters refer to a frame by ``ref`` without a foreign key (none can point
into a partitioned table); retention keeps a frame a dead letter refers to.

SQLite keeps the plain table and plain deletes (:mod:`.repos.retention`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PARENT = "frames"
DEFAULT = "frames_default"
_MONTH = re.compile(r"^frames_y(\d{4})m(\d{2})$")


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, when: datetime | str) -> Month:
        text = when if isinstance(when, str) else when.astimezone(UTC).isoformat()
        return cls(int(text[0:4]), int(text[5:7]))

    @property
    def name(self) -> str:
        return f"frames_y{self.year:04d}m{self.month:02d}"

    @property
    def lower(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-01"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def upper(self) -> str:
        return self.next().lower


def is_partitioned(conn: Any) -> bool:
    row = conn.execute("SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON "
                       "n.oid = c.relnamespace WHERE n.nspname = current_schema() AND "
                       "c.relname = ?", (PARENT,)).fetchone()
    return row is not None and row[0] == "p"


def months(conn: Any) -> list[Month]:
    """The month partitions of ``frames``, oldest first."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace"
        " WHERE p.relname = ? AND n.nspname = current_schema()", (PARENT,)).fetchall()
    found = [Month(int(m[1]), int(m[2])) for r in rows if (m := _MONTH.match(str(r[0])))]
    return sorted(found, key=lambda m: (m.year, m.month))


def convert(conn: Any, now: datetime, ahead: int = 2) -> None:
    """Turn the plain ``frames`` table into the partitioned one, keeping every row (in the
    caller's transaction: the migration's)."""
    if is_partitioned(conn):
        return
    conn.execute("ALTER TABLE dead_letters DROP CONSTRAINT IF EXISTS dead_letters_frame_fkey")
    conn.execute("ALTER TABLE frames RENAME TO frames_unpartitioned")
    conn.execute("ALTER INDEX IF EXISTS frames_pkey RENAME TO frames_unpartitioned_pkey")
    conn.execute(
        'CREATE TABLE frames (ref TEXT COLLATE "C" NOT NULL, adapter TEXT COLLATE "C" NOT NULL,'
        ' tenant TEXT COLLATE "C" NOT NULL, transport TEXT COLLATE "C" NOT NULL,'
        ' address TEXT COLLATE "C" NOT NULL, received TEXT COLLATE "C" NOT NULL,'
        ' payload BYTEA NOT NULL, PRIMARY KEY (ref, received)) PARTITION BY RANGE (received)')
    conn.execute("CREATE INDEX frames_ref ON frames (ref)")
    conn.execute(f"CREATE TABLE {DEFAULT} PARTITION OF frames DEFAULT")
    conn.execute("INSERT INTO frames (ref, adapter, tenant, transport, address, received,"
                 " payload) SELECT ref, adapter, tenant, transport, address, received, payload"
                 " FROM frames_unpartitioned")
    conn.execute("DROP TABLE frames_unpartitioned")
    ensure(conn, now, ahead)


def ensure(conn: Any, now: datetime, ahead: int = 2) -> list[str]:
    """Make the month partitions from this month to ``ahead`` months on, and one for every
    month that has rows in the default partition (moved there). Returns the names made."""
    have = set(months(conn))
    wanted: set[Month] = set()
    month = Month.of(now)
    for _ in range(ahead + 1):
        wanted.add(month)
        month = month.next()
    for row in conn.execute(f"SELECT DISTINCT substr(received, 1, 7) FROM {DEFAULT}"):
        wanted.add(Month.of(str(row[0])))
    made: list[str] = []
    for m in sorted(wanted - have, key=lambda m: (m.year, m.month)):
        conn.execute(f"CREATE TABLE {m.name} (LIKE frames INCLUDING DEFAULTS)")  # fixed names
        conn.execute(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE received >= ? AND "
                     f"received < ? RETURNING *) INSERT INTO {m.name} SELECT * FROM moved",
                     (m.lower, m.upper))
        conn.execute(f"ALTER TABLE frames ATTACH PARTITION {m.name} FOR VALUES FROM "
                     f"('{m.lower}') TO ('{m.upper}')")
        made.append(m.name)
    return made


def droppable(conn: Any, cutoff: str) -> list[tuple[str, int]]:
    """The month partitions wholly before ``cutoff`` that no dead letter refers into, with
    their row counts: a prune drops them whole."""
    out: list[tuple[str, int]] = []
    for m in months(conn):
        if m.upper > cutoff:
            break
        if conn.execute(f"SELECT 1 FROM dead_letters d WHERE EXISTS (SELECT 1 FROM {m.name} f"
                        " WHERE f.ref = d.frame) LIMIT 1").fetchone():
            continue  # a dead letter keeps its frame: the rest of the month goes row by row
        out.append((m.name, int(conn.execute(f"SELECT count(*) FROM {m.name}").fetchone()[0])))
    return out


def drop(conn: Any, name: str) -> None:
    """Drop one month partition (a short exclusive lock on ``frames``)."""
    if not _MONTH.match(name):
        raise ValueError(f"{name!r} is not a month partition of frames")
    conn.execute(f"ALTER TABLE frames DETACH PARTITION {name}")
    conn.execute(f"DROP TABLE {name}")


def migrate(conn: Any, store: Any) -> None:
    """Schema migration: partition ``frames`` on PostgreSQL; nothing on SQLite."""
    if getattr(store, "kind", "") == "postgresql":
        convert(conn, datetime.now(UTC))
