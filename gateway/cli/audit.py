"""``navet audit verify|checkpoint|rotate-key|export``: the audit log and its anchors.

``verify`` recomputes the keyed chain and checks it against every signed
checkpoint (exit 3 when anything was altered, removed, forged or cut off);
``checkpoint`` signs the head now (after verifying what came since the last one);
``rotate-key`` adds an audit key (older ones stay to verify what they keyed);
``export`` writes entries to a 0600 file for the municipality's log follow-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.core.audit import (
    AuditKeyMissing,
    AuditKeys,
    CheckpointFile,
    VerifyResult,
    verify_database,
)
from gateway.core.security.files import write_private
from gateway.core.settings import load_settings
from gateway.core.store import redact
from gateway.errors import ConfigError

from .context import audit_keys, audit_log, open_store


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = sub.add_parser("audit", help="the audit log: verify, checkpoint, keys, export")
    asub = audit.add_subparsers(dest="audit_command", metavar="SUBCOMMAND")
    asub.required = True

    verify = asub.add_parser(
        "verify", help="verify the audit log's keyed chain and its checkpoints (exit 3 if an "
        "entry was altered, removed, reordered, forged or cut off)")
    verify.add_argument("--config", default=None, metavar="FILE",
                        help="settings file: its database, audit key and checkpoint file")
    verify.add_argument("--database", default=None, metavar="FILE|URL",
                        help="the SQLite file or PostgreSQL URL to check (instead of --config)")
    verify.add_argument("--key-file", default=None, metavar="FILE",
                        help="with --database: the audit key file")
    verify.add_argument("--checkpoints", default=None, metavar="FILE",
                        help="with --database: the checkpoint file")
    verify.add_argument("--head", default=None, metavar="HASH",
                        help="a head hash kept elsewhere; must be the chain's last")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(func=verify_cmd)

    checkpoint = asub.add_parser(
        "checkpoint", help="verify what came since the last checkpoint and sign the head now")
    checkpoint.add_argument("--config", default=None, metavar="FILE")
    checkpoint.set_defaults(func=checkpoint_cmd)

    rotate = asub.add_parser("rotate-key", help="new audit key for new entries; older keys "
                             "stay in the file to verify what they keyed")
    rotate.add_argument("--config", default=None, metavar="FILE")
    rotate.set_defaults(func=rotate_cmd)

    export = asub.add_parser("export", help="entries as JSON lines into a new 0600 file")
    export.add_argument("--config", default=None, metavar="FILE")
    export.add_argument("--tenant", required=True)
    export.add_argument("--resident", default=None, help="a resident's log extract")
    export.add_argument("--since", default=None, metavar="ISO-8601",
                        help="entries at or after this time")
    export.add_argument("--out", required=True, metavar="FILE",
                        help="written with mode 0600 (it names residents and staff)")
    export.set_defaults(func=export_cmd)


def verify_cmd(args: argparse.Namespace) -> int:
    """Recompute the chain with the audit key, check the checkpoints; exit 3 when broken."""
    if args.database:
        database: str = args.database
        keys = AuditKeys.at(Path(args.key_file)) if args.key_file else None
        checkpoints = CheckpointFile(Path(args.checkpoints)) if args.checkpoints else None
        where = f"--key-file {args.key_file}" if args.key_file else "no --key-file"
    else:
        settings = load_settings(args.config)
        database = settings.database_target
        keys = audit_keys(settings, create=False)
        checkpoints = CheckpointFile(settings.audit_checkpoint_path)
        where = f"audit key file {settings.audit_key_path}" + (
            "" if keys is not None else ", which does not exist")
    try:
        result = verify_database(database, keys=keys, checkpoints=checkpoints,
                                 expect_head=args.head)
    except FileNotFoundError as err:
        raise ConfigError(str(err)) from err
    except AuditKeyMissing as err:
        raise ConfigError(f"{err} ({where})") from err
    _print(result, redact(database), as_json=args.json)
    return 0 if result.ok else 3


def _print(result: VerifyResult, database: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"database": database, **result.as_dict()}, indent=2))
    elif result.ok:
        anchored = (f", {result.checkpoints} checkpoint(s) match, the newest at entry "
                    f"{result.anchored}") if result.checkpoints else ", no checkpoint"
        print(f"audit log intact: {result.checked} entries ({result.keyed} keyed) after entry "
              f"{result.start}, head {result.head_seq} {result.head}{anchored}")
    else:
        print(f"audit log BROKEN ({result.checked} entries checked):")
        for problem in result.problems:
            print(f"  {problem}")


def checkpoint_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def run() -> dict[str, Any] | None:
        store = open_store(settings)
        try:
            cp = await audit_log(settings, store).checkpoint("command")
        finally:
            store.close()
        return cp.as_dict() if cp is not None else None

    found = asyncio.run(run())
    if found is None:
        print("navet: the audit log does not verify; no checkpoint written "
              "(navet audit verify says why)")
        return 3
    print(json.dumps(found))
    return 0


def rotate_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    keys = audit_keys(settings, create=True)
    assert keys is not None
    kid = keys.file.rotate()
    print(f"audit key {kid} is current in {keys.path}; earlier keys stay to verify what they "
          "keyed (keep the file: without it the log cannot be verified)")
    return 0


def export_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    since = datetime.fromisoformat(args.since) if args.since else None

    async def run() -> list[dict[str, Any]]:
        store = open_store(settings)
        try:
            log = audit_log(settings, store)
            found = await log.entries(args.tenant, resident=args.resident, since=since,
                                      limit=10_000_000)
        finally:
            store.close()
        return [e.as_dict() for e in reversed(found)]

    entries = asyncio.run(run())
    out = Path(args.out)
    write_private(out, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    print(f"{len(entries)} audit entries of {args.tenant} written to {out} (mode 0600)")
    return 0
