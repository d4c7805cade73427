"""How a tenant's care configuration sits in the configuration tables, read and written
inside one transaction (a ``Store.write`` job) by :func:`gateway.core.care.apply_care_config`.

- ``tenants``: one row per tenant, ``name`` and a JSON ``body`` with everything that has
  no table of its own (settings, staff, consents, schedules, relatives, geofences,
  passive rules);
- ``residents`` (tenant, id): the body, with the personal number only sealed
  (``personal_number_enc``);
- ``devices`` (id, global: ``<adapter>:<address>``): the columns the pipeline reads, the
  rest in ``body``; ``last_seen`` belongs to the pipeline and is never written here;
- ``plans`` (tenant, id): the plan as JSON.

Everything here is JSON-shaped dicts; the models live in :mod:`gateway.core.care`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ..store.records import DbConnection
from ..store.repos.config import (
    config_rows,
    delete_config_row,
    delete_device,
    upsert_config_row,
)

DEVICE_COLUMNS = ("adapter", "address", "kind", "resident", "heartbeat_s")


@dataclass
class StoredTenant:
    """A tenant as stored, shaped like a care document's tenant."""

    doc: dict[str, Any]
    sealed: dict[str, str] = field(default_factory=dict)
    """Resident id -> sealed personal number (never in ``doc``)."""
    device_extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Device id -> what its body holds beyond the model (a serial the device reported)."""


def stored_tenant(conn: DbConnection, tenant: str,
                  device_fields: Collection[str]) -> StoredTenant | None:
    """The tenant's stored configuration (None: not configured yet)."""
    rows = config_rows(conn, "tenants", tenant)
    if not rows:
        return None
    doc: dict[str, Any] = {**json.loads(rows[0]["body"] or "{}"), "id": tenant,
                           "name": rows[0]["name"]}
    out = StoredTenant(doc)
    doc["residents"] = []
    for row in config_rows(conn, "residents", tenant):
        body = json.loads(row["body"] or "{}")
        sealed = body.pop("personal_number_enc", None)
        if sealed:
            out.sealed[row["id"]] = sealed
        doc["residents"].append({**body, "id": row["id"]})
    doc["devices"] = []
    for row in config_rows(conn, "devices", tenant):
        body = json.loads(row["body"] or "{}")
        doc["devices"].append({**{k: v for k, v in body.items() if k in device_fields},
                               **{c: row[c] for c in DEVICE_COLUMNS}})
        extra = {k: v for k, v in body.items() if k not in device_fields and k != "unassigned"}
        if extra:
            out.device_extra[row["id"]] = extra
    doc["plans"] = [json.loads(row["body"]) for row in config_rows(conn, "plans", tenant)]
    return out


def write_tenant(conn: DbConnection, tenant: str, name: str, body: dict[str, Any]) -> None:
    upsert_config_row(conn, "tenants", {"id": tenant}, {"name": name, "body": json.dumps(body)})


def write_resident(conn: DbConnection, tenant: str, resident: str, body: dict[str, Any],
                   sealed: str | None) -> None:
    stored = {**body, "personal_number_enc": sealed} if sealed else body
    upsert_config_row(conn, "residents", {"tenant": tenant, "id": resident},
                      {"body": json.dumps(stored)})


def write_device(conn: DbConnection, tenant: str, device: str, columns: dict[str, Any],
                 body: dict[str, Any]) -> None:
    upsert_config_row(conn, "devices", {"id": device},
                      {"tenant": tenant, **{c: columns[c] for c in DEVICE_COLUMNS},
                       "body": json.dumps(body)})


def write_plan(conn: DbConnection, tenant: str, plan: str, resident: str, body: str) -> None:
    upsert_config_row(conn, "plans", {"tenant": tenant, "id": plan},
                      {"resident": resident, "body": body})


def delete_item(conn: DbConnection, tenant: str, table: str, key: str) -> None:
    """Remove a resident, device or plan of ``tenant`` (a ``replace`` left it out)."""
    if table == "devices":  # the key is global: never delete another tenant's device
        delete_device(conn, tenant, key)
    else:
        delete_config_row(conn, table, {"tenant": tenant, "id": key})
