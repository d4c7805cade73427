"""``navet store info|copy|prune``: what a store holds, moving it (SQLite to PostgreSQL),
and retention (:mod:`.store_prune`)."""

from __future__ import annotations

import argparse
import json
import sys

from gateway.core.security.pii import PiiCipher
from gateway.core.settings import load_settings
from gateway.core.store import Store, make_store
from gateway.core.store.copy import copy_store
from gateway.core.store.repos.meta import row_counts

from . import store_prune
from .context import data_cipher


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    store = sub.add_parser("store", help="the database: what it holds, copy it elsewhere, prune it")
    ssub = store.add_subparsers(dest="store_command", metavar="SUBCOMMAND")
    ssub.required = True
    info = ssub.add_parser("info", help="backend, schema version and rows per table")
    info.add_argument("--config", default=None, metavar="FILE")
    info.add_argument("--database", default=None, metavar="FILE|URL",
                      help="the SQLite file or PostgreSQL URL (instead of --config)")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(func=info_cmd)
    copy = ssub.add_parser(
        "copy", help="copy everything into an empty database, e.g. SQLite to PostgreSQL")
    copy.add_argument("--config", default=None, metavar="FILE",
                      help="settings file whose database is the source")
    copy.add_argument("--from", dest="source", default=None, metavar="FILE|URL",
                      help="the source (instead of --config)")
    copy.add_argument("--to", dest="target", required=True, metavar="URL|FILE",
                      help="the empty target, e.g. postgresql://navet@db/navet?schema=navet")
    copy.set_defaults(func=copy_cmd)
    store_prune.add_parser(ssub)


def _source(database: str | None, config: str | None) -> tuple[str, PiiCipher | None]:
    """The database to read and, with --config, the data keys that seal its subscriptions'
    settings (a copy moves them sealed; the target needs the same key file)."""
    if database:
        return database, None
    settings = load_settings(config)
    return settings.existing_database(), data_cipher(settings)


def _open(database: str, *, exclusive: bool, cipher: PiiCipher | None = None) -> Store:
    """A SQLite file made here is created 0600 in a 0700 directory (store/sqlite.py)."""
    store = make_store(database, cipher=cipher)
    store.open(exclusive=exclusive)
    return store


def info_cmd(args: argparse.Namespace) -> int:
    database, cipher = _source(args.database, args.config)
    store = _open(database, exclusive=False, cipher=cipher)
    try:
        conn = store.connect()
        try:
            rows = row_counts(conn)
        finally:
            conn.close()
        found = {"kind": store.kind, "database": store.label,
                 "schema_version": store.schema_version, "rows": rows}
    finally:
        store.close()
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        print(f"{found['kind']} {found['database']}, schema {found['schema_version']}")
        for table, n in rows.items():
            print(f"  {table:<24} {n:>10,}")
    return 0


def copy_cmd(args: argparse.Namespace) -> int:
    database, cipher = _source(args.source, args.config)
    source = _open(database, exclusive=False, cipher=cipher)  # a gateway may keep running on it
    try:
        target = _open(args.target, exclusive=True, cipher=cipher)  # none may write to it
        try:
            print(f"copying {source.label} -> {target.label}", file=sys.stderr)
            counts = copy_store(source, target, progress=lambda t, n: print(
                f"  {t:<24} {n:>10,} rows", file=sys.stderr))
        finally:
            target.close()
    finally:
        source.close()
    print(json.dumps({"copied": counts}, indent=2))
    return 0
