"""The care configuration tables: tenants, residents, devices, plans.

Functions of a connection, so that a caller can read and write several rows in
one transaction (:func:`gateway.core.care.apply_care_config` applies a whole
care document in one write job); :class:`ConfigRepository` reads them through
the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..records import DbConnection, Engine

CONFIG_TABLES = frozenset({"tenants", "residents", "devices", "plans"})


def config_table(table: str) -> str:
    if table not in CONFIG_TABLES:
        raise ValueError(f"not a configuration table: {table}")
    return table


def config_rows(conn: DbConnection, table: str, tenant: str | None = None) -> list[dict[str, Any]]:
    """The rows of a configuration table, of one tenant or all, ordered by their key."""
    config_table(table)
    col = "id" if table == "tenants" else "tenant"
    sql = f"SELECT * FROM {table}"  # fixed names
    args: tuple[Any, ...] = ()
    if tenant is not None:
        sql += f" WHERE {col} = ?"
        args = (tenant,)
    return [dict(r) for r in conn.execute(sql + " ORDER BY 1, 2", args).fetchall()]


def upsert_config_row(conn: DbConnection, table: str, key: dict[str, Any],
                      values: dict[str, Any]) -> None:
    """Insert a configuration row, or update the given columns of the one with ``key``;
    columns not in ``values`` (a device's ``last_seen``) keep what they hold."""
    config_table(table)
    cols = {**key, **values}
    names = ", ".join(cols)  # column names come from code, never from a request
    marks = ", ".join("?" for _ in cols)
    updates = ", ".join(f"{c} = excluded.{c}" for c in values) or f"body = {table}.body"
    conflict = ", ".join(key)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})"
                 f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}", tuple(cols.values()))


def delete_config_row(conn: DbConnection, table: str, key: dict[str, Any]) -> None:
    """Delete the configuration row with ``key`` (events and audit entries stay)."""
    config_table(table)
    where = " AND ".join(f"{c} = ?" for c in key)
    conn.execute(f"DELETE FROM {table} WHERE {where}", tuple(key.values()))


def delete_device(conn: DbConnection, tenant: str, device: str) -> None:
    """Delete ``device`` only if it is ``tenant``'s: a device id is global."""
    conn.execute("DELETE FROM devices WHERE id = ? AND tenant = ?", (device, tenant))


def device_owners(conn: DbConnection, ids: Iterable[str]) -> dict[str, str]:
    """Device id -> the tenant it is stored under, for those of ``ids`` that are stored."""
    wanted = sorted(set(ids))
    owners: dict[str, str] = {}
    for start in range(0, len(wanted), 200):
        part = wanted[start:start + 200]
        marks = ", ".join("?" for _ in part)
        for row in conn.execute(f"SELECT id, tenant FROM devices WHERE id IN ({marks})",
                                tuple(part)).fetchall():
            owners[str(row[0])] = str(row[1])
    return owners


def device_last_seen(conn: DbConnection, device: str) -> str | None:
    row = conn.execute("SELECT last_seen FROM devices WHERE id = ?", (device,)).fetchone()
    return str(row[0]) if row and row[0] else None


def resident_devices(conn: DbConnection, tenant: str, resident: str) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(
        "SELECT id, adapter, address, kind, last_seen, body FROM devices "
        "WHERE tenant = ? AND resident = ? ORDER BY id", (tenant, resident))]


def resident_plans(conn: DbConnection, tenant: str, resident: str) -> list[str]:
    return [str(r["body"]) for r in conn.execute(
        "SELECT body FROM plans WHERE tenant = ? AND resident = ? ORDER BY id",
        (tenant, resident))]


def row_body(conn: DbConnection, table: str, key: dict[str, Any]) -> str | None:
    """The ``body`` column of the configuration row with ``key`` (None: no such row)."""
    config_table(table)
    where = " AND ".join(f"{c} = ?" for c in key)  # column names come from code
    row = conn.execute(f"SELECT body FROM {table} WHERE {where}", tuple(key.values())).fetchone()
    return None if row is None else str(row["body"] or "{}")


class ConfigRepository:
    """The care configuration tables through the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def rows(self, table: str, tenant: str | None = None) -> list[dict[str, Any]]:
        return self.engine.read_sync(lambda conn: config_rows(conn, table, tenant))

    async def put(self, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        """Upsert one configuration row (tenants, residents, devices, plans)."""
        config_table(table)
        await self.engine.write(lambda conn: upsert_config_row(conn, table, key, values))


def write_last_seen(conn: DbConnection, rows: list[tuple[str, str, str]]) -> None:
    """Move ``devices.last_seen`` forward for ``(time, device, time)`` rows (the liveness
    flush, :mod:`gateway.core.liveness`); a stored time that is later stays."""
    conn.executemany(
        "UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL"
        " OR last_seen < ?)", rows)


def last_seen_times(conn: DbConnection) -> list[tuple[str, str]]:
    """``(device, last_seen)`` of every device heard at least once (supervision's start)."""
    return [(str(r[0]), str(r[1])) for r in conn.execute(
        "SELECT id, last_seen FROM devices WHERE last_seen IS NOT NULL")]


def last_seen_of(conn: DbConnection, devices: list[str]) -> list[tuple[str, str]]:
    """``(device, last_seen)`` of those of ``devices`` heard at least once: what every
    instance flushed (scale-out supervision reads it before it declares one silent)."""
    if not devices:
        return []
    marks = ",".join("?" * len(devices))
    return [(str(r[0]), str(r[1])) for r in conn.execute(
        f"SELECT id, last_seen FROM devices WHERE last_seen IS NOT NULL AND id IN ({marks})",
        tuple(devices))]
