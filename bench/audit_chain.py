"""What keying the audit log costs: appends, a full verification and a checkpoint.

Appends N entries to a fresh SQLite store in a temporary directory, once unkeyed
(SHA-256 chain, as before schema 5) and once keyed (HMAC-SHA256 under the audit
key), each awaited one after the other as the API's audit trail does; then
verifies each chain end to end and times one checkpoint of the keyed log (which
verifies everything since the checkpoint of the empty log, as the first start
after an upgrade verifies the whole log). Prints figures,
asserts nothing about speed.

    python bench/audit_chain.py                 # 20,000 entries
    python bench/audit_chain.py --entries 200000 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway import Actor, FakeClock
from gateway.core.audit import AuditKeys, AuditLog, CheckpointFile
from gateway.core.store import make_store

STAFF = Actor(kind="staff", id="s-bench")


async def run(entries: int, keyed: bool, directory: Path) -> dict[str, Any]:
    store = make_store(directory / "navet.db")
    store.open()
    try:
        log = AuditLog(store, FakeClock(),
                       keys=AuditKeys.at(directory / "keys" / "audit-keys.json") if keyed
                       else None,
                       checkpoints=CheckpointFile(directory / "audit" / "checkpoints.jsonl"))
        await log.open()
        await log.checkpoint("start")  # as a gateway does (an empty head)
        started = time.perf_counter()
        for i in range(entries):
            await log.append(tenant="vasteras", actor=STAFF, action="lock.unlock",
                             decision="allowed", reason=f"planned visit {i}", resident="r-1",
                             device="portvakt:door-1", detail={"visit": i})
        appended = time.perf_counter() - started
        started = time.perf_counter()
        result = await log.verify()
        verified = time.perf_counter() - started
        out: dict[str, Any] = {
            "entries": entries, "keyed": keyed, "ok": result.ok,
            "appends_per_s": round(entries / appended),
            "verify_s": round(verified, 3),
            "verified_per_s": round(entries / verified) if verified else None,
        }
        if keyed:
            started = time.perf_counter()
            cp = await log.checkpoint("bench")
            out["first_checkpoint_s"] = round(time.perf_counter() - started, 3)
            out["ok"] = out["ok"] and cp is not None and cp.seq == entries
        return out
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for keyed in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(asyncio.run(run(args.entries, keyed, Path(tmp))))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'chain':<10} {'entries':>9} {'appends/s':>10} {'verify s':>9} "
              f"{'verified/s':>11} {'checkpoint s':>13}")
        for r in rows:
            print(f"{'keyed' if r['keyed'] else 'unkeyed':<10} {r['entries']:>9,} "
                  f"{r['appends_per_s']:>10,} {r['verify_s']:>9} {r['verified_per_s']:>11,} "
                  f"{r.get('first_checkpoint_s', '-'):>13}")
    return 0 if all(r["ok"] for r in rows) else 2


if __name__ == "__main__":
    sys.exit(main())
