"""``navet store prune [--dry-run]``: delete what is past its retention period, now.

Per kind (raw frames, dead letters, liveness events, other events, outbox rows given
up on, expired sessions, the audit log from a signed anchor) after the settings'
``retention:`` periods (gateway/core/retention.py, docs/operators.md "Retention").
Rows go a chunk at a time, so a gateway writing to the same database meanwhile is
held up for one chunk at most; on PostgreSQL whole months of raw frames are dropped.
``--dry-run`` prints what would go and removes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from gateway.core.clock import SystemClock
from gateway.core.retention import KINDS, KindResult, Pruner
from gateway.core.settings import Settings, load_settings

from .context import audit_log, open_store


def add_parser(ssub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    prune = ssub.add_parser(
        "prune", help="delete what is past its retention period (per kind), now")
    prune.add_argument("--config", default=None, metavar="FILE")
    prune.add_argument("--dry-run", action="store_true",
                       help="print what would go, per kind, and remove nothing")
    prune.add_argument("--json", action="store_true", help="machine-readable output")
    prune.set_defaults(func=prune_cmd)


def prune(settings: Settings, *, dry_run: bool) -> dict[str, KindResult]:
    """Run (or plan) a prune of the settings' store; what went (would go) per kind."""

    async def run() -> dict[str, KindResult]:
        store = open_store(settings)
        try:
            audit = None if dry_run else audit_log(settings, store)  # a dry run writes nothing
            pruner = Pruner(store, SystemClock(), settings.retention, audit)
            return await (pruner.plan() if dry_run else pruner.run())
        finally:
            store.close()

    return asyncio.run(run())


def report(results: dict[str, KindResult], *, dry_run: bool) -> dict[str, Any]:
    return {"dry_run": dry_run, "kinds": {k: results[k].as_dict() for k in KINDS}}


def prune_cmd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    results = prune(settings, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(report(results, dry_run=args.dry_run), indent=2))
        return 0
    verb = "would go" if args.dry_run else "went"
    for kind in KINDS:
        r = results[kind]
        if r.cutoff is None:
            print(f"  {kind:<13} kept for ever (retention.{kind}_days 0)")
            continue
        extra = f", {len(r.partitions)} whole month(s) {', '.join(r.partitions)}" \
            if r.partitions else ""
        print(f"  {kind:<13} {r.rows:>10,} {verb} (older than {r.days} days, before "
              f"{r.cutoff[:19]}){extra}")
    return 0
