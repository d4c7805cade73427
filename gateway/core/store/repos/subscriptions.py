"""Subscriptions: who receives which events through which sink; settings sealed at rest."""

from __future__ import annotations

import json

from ...security.pii import PiiCipher
from .. import sealed
from ..records import DbConnection, Subscription


def load(conn: DbConnection, cipher: PiiCipher | None, label: str) -> list[Subscription]:
    """Every subscription with its settings in clear (:mod:`..sealed` opens them)."""
    rows = conn.execute("SELECT * FROM subscriptions").fetchall()
    return [
        Subscription(r["id"], r["tenant"], r["sink"], tuple(json.loads(r["types"])),
                     sealed.unseal(cipher, r["tenant"], r["id"], r["settings"], store=label),
                     bool(r["enabled"]))
        for r in rows
    ]


def upsert(conn: DbConnection, sub: Subscription, sealed_settings: str) -> None:
    """Add or replace ``sub``, its settings already sealed."""
    conn.execute(
        "INSERT INTO subscriptions (id, tenant, sink, types, settings, enabled)"
        " VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant,"
        " sink = excluded.sink, types = excluded.types, settings = excluded.settings,"
        " enabled = excluded.enabled",
        (sub.id, sub.tenant, sub.sink, json.dumps(list(sub.types)), sealed_settings,
         int(sub.enabled)),
    )
