"""``navet privacy export|purge|rotate-key``: personal data held, retention, data keys."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from gateway.core.privacy import export_resident, resident_context
from gateway.core.security.files import write_private
from gateway.core.settings import load_settings

from .context import data_cipher, open_store


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    privacy = sub.add_parser("privacy", help="personal data: export, retention, data keys")
    psub = privacy.add_subparsers(dest="privacy_command", metavar="SUBCOMMAND")
    psub.required = True
    export = psub.add_parser("export", help="everything held about one resident, as JSON")
    export.add_argument("--config", default=None, metavar="FILE")
    export.add_argument("--tenant", required=True)
    export.add_argument("--resident", required=True)
    export.add_argument("--out", default=None, metavar="FILE",
                        help="write it to a new file of mode 0600 instead of stdout (it holds "
                        "the personal number in clear)")
    export.set_defaults(func=export_cmd)
    purge_p = psub.add_parser(
        "purge", help="delete what is past its retention period now (navet store prune)")
    purge_p.add_argument("--config", default=None, metavar="FILE")
    purge_p.set_defaults(func=purge_cmd)
    rotate = psub.add_parser(
        "rotate-key", help="new data key; re-encrypt every stored personal identifier and "
        "subscription secret")
    rotate.add_argument("--config", default=None, metavar="FILE")
    rotate.set_defaults(func=rotate_cmd)


def export_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    store = open_store(settings)
    try:
        found = export_resident(store, store.cipher, args.tenant, args.resident)
    finally:
        store.close()
    if found is None:
        print(f"navet: no resident {args.resident} in tenant {args.tenant}", file=sys.stderr)
        return 1
    text = json.dumps(found, indent=2, ensure_ascii=False, default=str)
    if args.out is None:
        print(text)
    else:
        write_private(Path(args.out), text + "\n")
        print(f"export of {args.resident} ({args.tenant}) written to {args.out} (mode 0600)",
              file=sys.stderr)
    return 0


def purge_cmd(args: argparse.Namespace) -> int:
    """The same prune as ``navet store prune`` (gateway/cli/store_prune.py)."""
    from .store_prune import prune

    results = prune(load_settings(args.config), dry_run=False)
    print(json.dumps({kind: r.rows for kind, r in results.items()}))
    return 0


def rotate_cmd(args: argparse.Namespace) -> int:
    """New current key, then every stored personal number and every subscription's
    settings re-encrypted with it (the older keys stay in the file, so a gateway running
    meanwhile reads both)."""
    settings = load_settings(args.config)
    kid = data_cipher(settings).keys.rotate()

    async def run() -> tuple[int, int]:
        store = open_store(settings)
        cipher = store.cipher
        assert cipher is not None
        residents = 0
        try:
            for tenant_row in store.rows("tenants"):
                tenant = tenant_row["id"]
                for row in store.rows("residents", tenant):
                    body = json.loads(row["body"] or "{}")
                    sealed = body.get("personal_number_enc")
                    if not sealed or cipher.is_current(sealed):
                        continue
                    ctx = resident_context(tenant, row["id"])
                    body["personal_number_enc"] = cipher.encrypt(
                        cipher.decrypt(sealed, context=ctx), context=ctx)
                    await store.put_row("residents", {"tenant": tenant, "id": row["id"]},
                                        {"body": json.dumps(body)})
                    residents += 1
            subscriptions = await store.reseal_subscriptions()
        finally:
            store.close()
        return residents, subscriptions

    residents, subscriptions = asyncio.run(run())
    print(f"data key {kid} is current; {residents} personal number(s) and {subscriptions} "
          "subscription(s) re-encrypted")
    return 0
