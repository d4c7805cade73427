"""The audit log: append-only, hash-chained record of who did what to whom, and why.

Every command (a door opened or refused, later a camera session) leaves an
entry: who asked, when, which action, tenant, resident, device, the decision
and the reason (for an allowed unlock: the planned visit or the dispatched
alarm that made it legitimate). The log is for the municipality's systematic
log follow-up (HSLF-FS 2016:40 4 kap. 9 §, SoLPuL) and for a resident's log
extract, so it must be impossible to change quietly:

- entries are only ever inserted (no API updates or deletes them);
- each entry carries ``prev``, the SHA-256 of the entry before it, and
  ``hash``, the SHA-256 of its own canonical form (which includes its
  sequence number and ``prev``), so one chain runs through the whole log;
- :meth:`AuditLog.verify` recomputes the chain and names the first entry that
  was altered, removed or moved (``navet audit verify`` runs it).

A chain proves internal consistency. Someone who can rewrite the database can
rewrite the chain from the altered entry on; to catch that, compare the head
(``verify().head``) with a copy kept elsewhere (``navet audit verify --head``).

Entries hold pseudonyms and local staff ids only, never names or personal
numbers, and no secrets.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .clock import Clock
from .model import Actor
from .store import SQLITE_URL, DbConnection, Store, is_postgres, make_store

GENESIS = "0" * 64
"""``prev`` of the first entry."""

_COLUMNS = ("seq", "time", "tenant", "actor_kind", "actor", "action", "resident", "device",
            "decision", "reason", "detail", "prev")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log."""

    seq: int
    time: datetime
    tenant: str
    actor_kind: str
    actor: str
    action: str
    resident: str | None
    device: str | None
    decision: str
    reason: str
    detail: Mapping[str, Any]
    prev: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": self.time.isoformat(), "tenant": self.tenant,
            "actor": {"kind": self.actor_kind, "id": self.actor}, "action": self.action,
            "resident": self.resident, "device": self.device, "decision": self.decision,
            "reason": self.reason, "detail": dict(self.detail), "prev": self.prev,
            "hash": self.hash,
        }


def entry_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of an entry's canonical form: its columns (with ``prev``), as sorted JSON."""
    canonical = json.dumps({c: row[c] for c in _COLUMNS}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class VerifyResult:
    """What :func:`verify_rows` found: ``ok`` and, when not, each problem in words."""

    checked: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)
    first_bad: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head": self.head,
                "first_bad": self.first_bad, "problems": list(self.problems)}


def verify_rows(rows: Iterable[Mapping[str, Any]], *, expect_head: str | None = None,
                max_problems: int = 20) -> VerifyResult:
    """Walk the chain in ``seq`` order and report every break.

    - an entry whose content no longer matches its hash was **altered**;
    - a gap in ``seq``, or a ``prev`` that is not the previous entry's hash, means
      entries were **removed** or **reordered** (reordering also breaks the hashes,
      because the sequence number is hashed);
    - ``expect_head`` (a head kept elsewhere) catches a chain rewritten to the end
      or cut short at the end.
    """
    result = VerifyResult()
    prev_hash, prev_seq = GENESIS, 0

    def problem(seq: int, text: str) -> None:
        if result.first_bad is None:
            result.first_bad = seq
        if len(result.problems) < max_problems:
            result.problems.append(f"entry {seq}: {text}")

    for row in rows:
        seq = int(row["seq"])
        result.checked += 1
        if seq != prev_seq + 1:
            problem(seq, f"follows entry {prev_seq}: entries {prev_seq + 1}..{seq - 1} are "
                         "missing" if seq > prev_seq + 1 else f"is out of order after {prev_seq}")
        if row["prev"] != prev_hash:
            problem(seq, "does not link to the entry before it (removed or reordered entries)")
        if entry_hash(row) != row["hash"]:
            problem(seq, "content does not match its hash (the entry was altered)")
        prev_hash, prev_seq = str(row["hash"]), seq
    result.head = prev_hash
    if expect_head is not None and expect_head != prev_hash:
        problem(prev_seq, f"the chain ends in {prev_hash[:16]}…, not in the expected head "
                          f"{expect_head[:16]}… (entries removed or rewritten at the end)")
    return result


def _row_to_entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]), time=datetime.fromisoformat(row["time"]), tenant=row["tenant"],
        actor_kind=row["actor_kind"], actor=row["actor"], action=row["action"],
        resident=row["resident"], device=row["device"], decision=row["decision"],
        reason=row["reason"], detail=json.loads(row["detail"]), prev=row["prev"],
        hash=row["hash"],
    )


class AuditLog:
    """The audit log in the gateway's store. Appends are serialised by the store's writer."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def open(self) -> None:
        """Nothing to do: the table is part of the store's schema (migration 3)."""

    async def append(
        self,
        *,
        tenant: str,
        actor: Actor,
        action: str,
        decision: str,
        reason: str,
        resident: str | None = None,
        device: str | None = None,
        detail: Mapping[str, Any] | None = None,
        time: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry; returns it once it is committed."""
        when = (time or self.clock.now()).isoformat()
        body = json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False, default=str)

        def job(conn: DbConnection) -> AuditEntry:
            last = conn.execute(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
            row: dict[str, Any] = {
                "seq": (int(last[0]) + 1) if last else 1, "time": when, "tenant": tenant,
                "actor_kind": str(actor.kind), "actor": actor.id, "action": action,
                "resident": resident, "device": device, "decision": decision,
                "reason": reason, "detail": body, "prev": str(last[1]) if last else GENESIS,
            }
            row["hash"] = entry_hash(row)
            conn.execute(
                f"INSERT INTO audit_log ({', '.join(row)}) VALUES "  # fixed column names
                f"({', '.join('?' for _ in row)})", tuple(row.values()))
            return _row_to_entry(row)

        return await self.store.write(job)

    async def entries(self, tenant: str, *, resident: str | None = None,
                      device: str | None = None, actor: str | None = None,
                      since: datetime | None = None, limit: int = 100) -> list[AuditEntry]:
        """A tenant's entries, newest first (a resident's log extract with ``resident``)."""
        sql = ["SELECT * FROM audit_log WHERE tenant = ?"]
        args: list[Any] = [tenant]
        for col, val in (("resident", resident), ("device", device), ("actor", actor)):
            if val is not None:
                sql.append(f"AND {col} = ?")
                args.append(val)
        if since is not None:
            sql.append("AND time >= ?")
            args.append(since.isoformat())
        sql.append("ORDER BY seq DESC LIMIT ?")
        args.append(limit)
        rows = await self.store.read(lambda conn: conn.execute(" ".join(sql), args).fetchall())
        return [_row_to_entry(r) for r in rows]

    async def verify(self, *, expect_head: str | None = None) -> VerifyResult:
        """Recompute the whole chain (see :func:`verify_rows`)."""
        return await self.store.read(lambda conn: verify_rows(
            conn.execute("SELECT * FROM audit_log ORDER BY seq"), expect_head=expect_head))


def verify_database(database: str | Path, *, expect_head: str | None = None) -> VerifyResult:
    """Verify the audit log of ``database``: a SQLite file (opened read-only) or a
    PostgreSQL URL.

    Used by ``navet audit verify``; needs no running gateway and changes nothing.
    """
    text = str(database)
    if is_postgres(text):
        pg = make_store(text).connect()
        try:
            if pg.execute("SELECT to_regclass('audit_log')").fetchone()[0] is None:
                return VerifyResult()
            return verify_rows(pg.execute("SELECT * FROM audit_log ORDER BY seq"),
                               expect_head=expect_head)
        finally:
            pg.close()
    file = Path(text.removeprefix(SQLITE_URL))
    if not file.exists():
        raise FileNotFoundError(f"no database at {file}")
    conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                           "'audit_log'").fetchone()
        if not has:
            return VerifyResult()
        return verify_rows(conn.execute("SELECT * FROM audit_log ORDER BY seq"),
                           expect_head=expect_head)
    finally:
        conn.close()
