"""The store's schema, as numbered migrations applied in order.

Each migration runs once, in a transaction with the version it brings;
``schema_version`` records how far a database has come. Never edit a migration
that has shipped: add the next one.

A migration is DDL, written once in SQLite's types (the PostgreSQL store
translates them, :func:`gateway.core.store.postgres.to_pg_ddl`), or, when rows
must be rewritten with something the database does not have (a key), a Python
step called with the connection and the store. Every table of Navet, core or
not, is created here, so both backends have the same schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import alarms, partitions
from .sealed import seal_clear_rows


def _seal_subscription_settings(conn: Any, store: Any) -> None:
    """Settings written in clear before schema 4 are sealed with the data keys."""
    seal_clear_rows(conn, store.cipher, store.label)


def _fill_alarm_projection(conn: Any, store: Any) -> None:
    """The alarm projection starts from the history: fold every stored alarm event once."""
    alarms.backfill(conn)


Migration = str | Callable[[Any, Any], None]

MIGRATIONS: list[Migration] = [
    # 1: inbox, raw frames, dead letters, outbox, care configuration
    """
    CREATE TABLE events (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        id        TEXT NOT NULL UNIQUE,
        tenant    TEXT NOT NULL,
        type      TEXT NOT NULL,
        resident  TEXT,
        device    TEXT,
        alarm     TEXT,
        time      TEXT NOT NULL,
        received  TEXT NOT NULL,
        body      TEXT NOT NULL,
        ruled     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX events_tenant_seq ON events (tenant, seq);
    CREATE INDEX events_tenant_type_time ON events (tenant, type, time);
    CREATE INDEX events_tenant_resident_time ON events (tenant, resident, time);
    CREATE INDEX events_tenant_device_time ON events (tenant, device, time);
    CREATE INDEX events_tenant_alarm ON events (tenant, alarm, seq);
    CREATE INDEX events_unruled ON events (ruled) WHERE ruled = 0;

    CREATE TABLE frames (
        ref        TEXT PRIMARY KEY,
        adapter    TEXT NOT NULL,
        tenant     TEXT NOT NULL,
        transport  TEXT NOT NULL,
        address    TEXT NOT NULL,
        received   TEXT NOT NULL,
        payload    BLOB NOT NULL
    );

    CREATE TABLE dead_letters (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant     TEXT NOT NULL,
        adapter    TEXT NOT NULL,
        transport  TEXT NOT NULL,
        address    TEXT NOT NULL,
        received   TEXT NOT NULL,
        reason     TEXT NOT NULL,
        frame      TEXT NOT NULL REFERENCES frames (ref)
    );
    CREATE INDEX dead_letters_tenant ON dead_letters (tenant, id);

    CREATE TABLE subscriptions (
        id        TEXT PRIMARY KEY,
        tenant    TEXT NOT NULL,
        sink      TEXT NOT NULL,
        types     TEXT NOT NULL,
        settings  TEXT NOT NULL,
        enabled   INTEGER NOT NULL DEFAULT 1
    );

    CREATE TABLE outbox (
        subscription  TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        lane          TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_attempt  TEXT NOT NULL,
        state         TEXT NOT NULL DEFAULT 'pending',
        last_error    TEXT,
        PRIMARY KEY (subscription, seq)
    );
    CREATE INDEX outbox_due ON outbox (state, subscription, lane, seq);

    CREATE TABLE tenants (
        id    TEXT PRIMARY KEY,
        name  TEXT NOT NULL,
        body  TEXT NOT NULL
    );

    CREATE TABLE residents (
        tenant  TEXT NOT NULL,
        id      TEXT NOT NULL,
        body    TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
    );

    CREATE TABLE devices (
        id            TEXT PRIMARY KEY,
        tenant        TEXT NOT NULL,
        adapter       TEXT NOT NULL,
        address       TEXT NOT NULL,
        kind          TEXT NOT NULL,
        resident      TEXT,
        heartbeat_s   INTEGER,
        last_seen     TEXT,
        body          TEXT NOT NULL
    );
    CREATE INDEX devices_tenant ON devices (tenant, id);

    CREATE TABLE plans (
        tenant    TEXT NOT NULL,
        resident  TEXT NOT NULL,
        id        TEXT NOT NULL,
        body      TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    """,
    # 2: outbox delivery state (replay, horizon from when a row became due, per-subscription
    #    last delivery and last error for the subscriptions API)
    """
    ALTER TABLE outbox ADD COLUMN enqueued TEXT;
    CREATE INDEX events_tenant_received ON events (tenant, received);

    CREATE TABLE outbox_state (
        subscription     TEXT PRIMARY KEY,
        delivered        INTEGER NOT NULL DEFAULT 0,
        last_delivered   TEXT,
        last_event       TEXT,
        last_error       TEXT,
        last_error_at    TEXT
    );
    """,
    # 3: the audit log and the FHIR facade's subscription state. Before schema 3 they were
    #    created on first use, hence IF NOT EXISTS: a database from then already has them.
    """
    CREATE TABLE IF NOT EXISTS audit_log (
        seq        INTEGER PRIMARY KEY,
        time       TEXT NOT NULL,
        tenant     TEXT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor      TEXT NOT NULL,
        action     TEXT NOT NULL,
        resident   TEXT,
        device     TEXT,
        decision   TEXT NOT NULL,
        reason     TEXT NOT NULL,
        detail     TEXT NOT NULL,
        prev       TEXT NOT NULL,
        hash       TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_log_tenant ON audit_log (tenant, seq);
    CREATE INDEX IF NOT EXISTS audit_log_resident ON audit_log (tenant, resident, seq);

    CREATE TABLE IF NOT EXISTS fhir_subscription_state (
        id      TEXT PRIMARY KEY,
        tenant  TEXT NOT NULL,
        status  TEXT NOT NULL,
        error   TEXT
    );
    CREATE TABLE IF NOT EXISTS fhir_notifications (
        subscription  TEXT NOT NULL,
        event         TEXT NOT NULL,
        number        INTEGER NOT NULL,
        PRIMARY KEY (subscription, event)
    )
    """,
    # 4: subscription settings (webhook secrets, rest-hook headers) sealed at rest
    #    (gateway/core/store/sealed.py); needs the data keys when there is a clear row
    _seal_subscription_settings,
    # 5: the audit log keyed with an HMAC key kept outside the database (kid names the key;
    #    NULL for entries from before, which keep their plain SHA-256 hash), and the signed
    #    anchors that retention prunes from (gateway/core/audit_anchor.py)
    """
    ALTER TABLE audit_log ADD COLUMN kid TEXT;
    CREATE TABLE audit_anchor (
        seq   INTEGER PRIMARY KEY,
        hash  TEXT NOT NULL,
        time  TEXT NOT NULL,
        kid   TEXT NOT NULL,
        mac   TEXT NOT NULL
    )
    """,
    # 6: people who sign in to the console: local accounts (Argon2id password hashes) and
    #    server-side sessions (the cookie carries a random token; only its SHA-256 is kept,
    #    so a copy of the database signs nobody in). gateway/core/accounts.py
    """
    CREATE TABLE users (
        subject   TEXT PRIMARY KEY,
        name      TEXT NOT NULL,
        password  TEXT,
        roles     TEXT NOT NULL,
        tenants   TEXT NOT NULL,
        disabled  INTEGER NOT NULL DEFAULT 0,
        created   TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id        TEXT PRIMARY KEY,
        subject   TEXT NOT NULL,
        name      TEXT NOT NULL,
        roles     TEXT NOT NULL,
        tenants   TEXT NOT NULL,
        csrf      TEXT NOT NULL,
        via       TEXT NOT NULL,
        created   TEXT NOT NULL,
        expires   TEXT NOT NULL
    );
    CREATE INDEX sessions_subject ON sessions (subject);
    CREATE INDEX sessions_expires ON sessions (expires)
    """,
    # 7: the alarm projection: each alarm's current state, written in the transaction of
    #    the event that changes it (gateway/core/store/alarms.py)
    alarms.DDL,
    # 8: ... filled once from the history already stored
    _fill_alarm_projection,
    # 9: PostgreSQL: raw frames partitioned by month, so retention drops whole months
    #    (gateway/core/store/partitions.py); every row is kept. SQLite: nothing.
    partitions.migrate,
    # 10 (scale-out): the instances running on this
    #    database, with the MQTT sessions each holds, and leases on work that must not run
    #    twice (a subscription's deliveries), gateway/core/store/repos/cluster.py. IF NOT
    #    EXISTS: runtime state only, harmless to run again over a database taken back to 7
    """
    CREATE TABLE IF NOT EXISTS instances (
        name      TEXT PRIMARY KEY,
        host      TEXT NOT NULL,
        pid       INTEGER NOT NULL,
        started   TEXT NOT NULL,
        seen_ms   INTEGER NOT NULL,
        sessions  TEXT NOT NULL DEFAULT '[]'
    );
    CREATE TABLE IF NOT EXISTS leases (
        name      TEXT PRIMARY KEY,
        owner     TEXT NOT NULL,
        until_ms  INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS leases_owner ON leases (owner)
    """,
]
