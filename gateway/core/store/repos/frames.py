"""Raw frames (kept by reference for audit and replay) and dead letters (frames refused)."""

from __future__ import annotations

from typing import Any

from ...adapters import RawFrame
from ..records import DbConnection, Engine, iso


def insert_frame(conn: DbConnection, frame: RawFrame) -> None:
    # Not ON CONFLICT (ref): on PostgreSQL frames are partitioned by month and the key is
    # (ref, received) (store/partitions.py); a frame stored in any month is not stored again.
    ref = frame.ref
    conn.execute(
        "INSERT INTO frames (ref, adapter, tenant, transport, address, received, payload)"
        " SELECT ?,?,?,?,?,?,? WHERE NOT EXISTS (SELECT 1 FROM frames WHERE ref = ?)"
        " ON CONFLICT DO NOTHING",
        (ref, frame.adapter, frame.tenant, frame.transport, frame.address,
         iso(frame.received), frame.payload, ref),
    )


def insert_dead_letter(conn: DbConnection, frame: RawFrame, reason: str) -> int:
    insert_frame(conn, frame)
    row = conn.execute(
        "INSERT INTO dead_letters (tenant, adapter, transport, address, received, reason,"
        " frame) VALUES (?,?,?,?,?,?,?) RETURNING id",
        (frame.tenant, frame.adapter, frame.transport, frame.address,
         iso(frame.received), reason, frame.ref),
    ).fetchone()
    return int(row[0])


def dead_letters(conn: DbConnection, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT d.id, d.tenant, d.adapter, d.transport, d.address, d.received, d.reason,"
        " d.frame, (SELECT f.payload FROM frames f WHERE f.ref = d.frame LIMIT 1) AS payload"
        " FROM dead_letters d WHERE d.tenant = ? ORDER BY d.id DESC LIMIT ?",
        (tenant, limit),
    ).fetchall()
    out = []
    for r in rows:
        item = {k: r[k] for k in r.keys() if k != "payload"}  # noqa: SIM118 - a row iterates values
        item["payload"] = bytes(r["payload"] or b"").decode("utf-8", "replace")
        out.append(item)
    return out


def count_dead_letters(conn: DbConnection) -> int:
    return int(conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0])


def frame(conn: DbConnection, ref: str) -> bytes | None:
    row = conn.execute("SELECT payload FROM frames WHERE ref = ? LIMIT 1", (ref,)).fetchone()
    return bytes(row[0]) if row else None


class DeadLetterRepository:
    """Dead letters and the frames they keep, through the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def add(self, frame: RawFrame, reason: str) -> int:
        return await self.engine.write(lambda conn: insert_dead_letter(conn, frame, reason))

    def list(self, tenant: str, limit: int = 100) -> list[dict[str, Any]]:
        return self.engine.read_sync(lambda conn: dead_letters(conn, tenant, limit))

    def count(self) -> int:
        return self.engine.read_sync(count_dead_letters)

    def frame(self, ref: str) -> bytes | None:
        return self.engine.read_sync(lambda conn: frame(conn, ref))
