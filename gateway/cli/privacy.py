"""``navet privacy export|purge|rotate-key``: personal data held, retention, data keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from gateway.core.privacy import export_resident, purge, resident_context
from gateway.core.security.pii import DataKeys, PiiCipher
from gateway.core.settings import Settings, load_settings
from gateway.core.store import Store, make_store


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    privacy = sub.add_parser("privacy", help="personal data: export, retention, data keys")
    psub = privacy.add_subparsers(dest="privacy_command", metavar="SUBCOMMAND")
    psub.required = True
    export = psub.add_parser("export", help="everything held about one resident, as JSON")
    export.add_argument("--config", default=None, metavar="FILE")
    export.add_argument("--tenant", required=True)
    export.add_argument("--resident", required=True)
    export.set_defaults(func=export_cmd)
    purge_p = psub.add_parser("purge", help="delete what is past its retention period now")
    purge_p.add_argument("--config", default=None, metavar="FILE")
    purge_p.set_defaults(func=purge_cmd)
    rotate = psub.add_parser("rotate-key",
                             help="new data key; re-encrypt every stored personal identifier")
    rotate.add_argument("--config", default=None, metavar="FILE")
    rotate.set_defaults(func=rotate_cmd)


def _keys(settings: Settings) -> DataKeys:
    path = settings.privacy.data_key_file or settings.data_dir / "keys" / "data-keys.json"
    return DataKeys.load_or_create(path)


def _store(settings: Settings) -> Store:
    store = make_store(settings.existing_database())
    store.open(exclusive=False)  # beside a running gateway
    return store


def export_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    store = _store(settings)
    try:
        found = export_resident(store, PiiCipher(_keys(settings)), args.tenant, args.resident)
    finally:
        store.close()
    if found is None:
        print(f"navet: no resident {args.resident} in tenant {args.tenant}", file=sys.stderr)
        return 1
    print(json.dumps(found, indent=2, ensure_ascii=False, default=str))
    return 0


def purge_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> dict[str, int]:
        from gateway.core.clock import SystemClock

        store = _store(settings)
        try:
            return await purge(store, SystemClock().now(),
                               retention_days=settings.privacy.retention_days,
                               frames_retention_days=settings.privacy.frames_retention_days)
        finally:
            store.close()

    print(json.dumps(asyncio.run(run())))
    return 0


def rotate_cmd(args: argparse.Namespace) -> int:
    """New current key, then every stored personal number re-encrypted with it."""
    settings = load_settings(args.config)
    keys = _keys(settings)
    old = PiiCipher(DataKeys(keys.path, keys.current, dict(keys.keys)))
    kid = keys.rotate()
    new = PiiCipher(keys)

    async def run() -> int:
        store = _store(settings)
        changed = 0
        try:
            for tenant_row in store.rows("tenants"):
                tenant = tenant_row["id"]
                for row in store.rows("residents", tenant):
                    body = json.loads(row["body"] or "{}")
                    sealed = body.get("personal_number_enc")
                    if not sealed or new.is_current(sealed):
                        continue
                    ctx = resident_context(tenant, row["id"])
                    body["personal_number_enc"] = new.encrypt(old.decrypt(sealed, context=ctx),
                                                              context=ctx)
                    await store.put_row("residents", {"tenant": tenant, "id": row["id"]},
                                        {"body": json.dumps(body)})
                    changed += 1
        finally:
            store.close()
        return changed

    changed = asyncio.run(run())
    print(f"data key {kid} is current; {changed} stored value(s) re-encrypted")
    return 0
