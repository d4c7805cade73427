"""Several Navet instances on one database: who runs, and who owns which work.

``instances`` has a row per running process: its name, host and pid, when it
was last seen (``seen_ms``, renewed every few seconds) and the MQTT sessions it
holds (client ids), so that when it dies another instance can take them over
(:mod:`gateway.core.cluster`). ``leases`` names work that must not run twice
at once (a subscription's deliveries: order per resident): an owner and a time
until which it holds it; the owner renews it, anyone may take it once it has
expired or its owner's row is gone. Times are milliseconds of the gateways'
injected clocks.
"""

from __future__ import annotations

import json
from typing import Any

from ..records import DbConnection


def register(conn: DbConnection, name: str, host: str, pid: int, started: str,
             now_ms: int) -> None:
    """This process under ``name`` (a row a dead process of that name left is replaced)."""
    conn.execute(
        "INSERT INTO instances (name, host, pid, started, seen_ms, sessions)"
        " VALUES (?,?,?,?,?,'[]') ON CONFLICT (name) DO UPDATE SET host = excluded.host,"
        " pid = excluded.pid, started = excluded.started, seen_ms = excluded.seen_ms,"
        " sessions = '[]'", (name, host, pid, started, now_ms))


def seen(conn: DbConnection, name: str, now_ms: int) -> bool:
    """Renew ``name``'s heartbeat; False when its row is gone (it was taken over)."""
    cur = conn.execute("UPDATE instances SET seen_ms = ? WHERE name = ?", (now_ms, name))
    return bool(cur.rowcount > 0)


def set_sessions(conn: DbConnection, name: str, sessions: list[dict[str, Any]]) -> None:
    conn.execute("UPDATE instances SET sessions = ? WHERE name = ?",
                 (json.dumps(sessions, sort_keys=True), name))


def instances(conn: DbConnection) -> list[dict[str, Any]]:
    """Every registered instance, with its sessions parsed, by name."""
    rows = conn.execute(
        "SELECT name, host, pid, started, seen_ms, sessions FROM instances ORDER BY name"
    ).fetchall()
    return [{**dict(r), "sessions": json.loads(r["sessions"] or "[]")} for r in rows]


def forget(conn: DbConnection, name: str) -> None:
    """``name`` is gone and what it held is taken over: its row and its leases go."""
    conn.execute("DELETE FROM leases WHERE owner = ?", (name,))
    conn.execute("DELETE FROM instances WHERE name = ?", (name,))


def claim(conn: DbConnection, lease: str, owner: str, now_ms: int, ttl_ms: int) -> bool:
    """Take or renew ``lease`` for ``owner`` until ``now_ms + ttl_ms``: True if it is
    ``owner``'s now (it was free, expired, or already its own)."""
    row = conn.execute(
        "INSERT INTO leases (name, owner, until_ms) VALUES (?,?,?)"
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
        " until_ms = excluded.until_ms"
        " WHERE leases.owner = excluded.owner OR leases.until_ms < ?"
        " RETURNING owner", (lease, owner, now_ms + ttl_ms, now_ms)).fetchone()
    return row is not None


def release(conn: DbConnection, lease: str, owner: str) -> None:
    conn.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (lease, owner))


def leases(conn: DbConnection) -> dict[str, tuple[str, int]]:
    """Lease name -> (owner, until_ms)."""
    return {r["name"]: (r["owner"], int(r["until_ms"])) for r in conn.execute(
        "SELECT name, owner, until_ms FROM leases ORDER BY name").fetchall()}
