"""The audit log: append-only, keyed hash chain of who did what to whom, and why.

Every command (a door opened or refused, later a camera session) leaves an
entry: who asked, when, which action, tenant, resident, device, the decision
and the reason (for an allowed unlock: the planned visit or the dispatched
alarm that made it legitimate). The log is for the municipality's systematic
log follow-up (HSLF-FS 2016:40 4 kap. 9 §, SoLPuL) and for a resident's log
extract, so it must be impossible to change quietly:

- entries are only ever inserted (no API updates or deletes them; retention
  prunes the oldest from a signed anchor, :meth:`AuditLog.prune`);
- each entry carries ``prev``, the hash of the entry before it, and ``hash``,
  an HMAC-SHA256 of its own canonical form (which includes its sequence number,
  ``prev`` and the key id ``kid``) under the audit key, which is not in the
  database (:mod:`.audit_anchor`), so one chain runs through the whole log and
  nobody without the key can write an entry that fits;
- signed checkpoints of the head, written outside the database, catch a cut end;
- :meth:`AuditLog.verify` recomputes the chain, checks it against every
  checkpoint and names each entry that was altered, removed, moved, forged or
  cut off (``navet audit verify --config FILE`` runs it).

Entries written before the key existed (``kid`` NULL) keep their plain SHA-256
hash and verify as before; the first keyed entry's HMAC covers the last of them
(its ``prev``), and the first checkpoint signs the head, so they are anchored
too. An unkeyed entry after a keyed one is a forgery.

Appends are serialised by the database, across processes: the writer's
transaction on SQLite, an advisory lock on PostgreSQL (:meth:`Store.serialise`).

Entries hold pseudonyms and local staff ids only, never names or personal
numbers, and no secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.errors import ConfigError, NavetError

from .audit_anchor import AuditKeys, Checkpoint, CheckpointFile
from .audit_verify import (
    GENESIS,
    AuditKeyMissing,
    VerifyResult,
    entry_hash,
    kid_of,
    latest_anchor,
    verify_connection,
    verify_database,
    verify_rows,
    with_checkpoint_file,
)
from .clock import Clock
from .model import Actor
from .store import DbConnection, Store
from .store.repos import audit as audit_rows

__all__ = ["GENESIS", "AuditEntry", "AuditError", "AuditKeyMissing", "AuditKeys", "AuditLog",
           "Checkpoint", "CheckpointFile", "VerifyResult", "entry_hash", "verify_database",
           "verify_rows"]

log = logging.getLogger(__name__)


class AuditError(NavetError):
    """The audit log does not verify, so it is neither checkpointed nor pruned."""


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
    kid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": self.time.isoformat(), "tenant": self.tenant,
            "actor": {"kind": self.actor_kind, "id": self.actor}, "action": self.action,
            "resident": self.resident, "device": self.device, "decision": self.decision,
            "reason": self.reason, "detail": dict(self.detail), "prev": self.prev,
            "hash": self.hash, "kid": self.kid,
        }


def _as_stored(when: datetime) -> str:
    """``when`` as the log writes times (ISO 8601 in UTC), to compare with them; a time
    whose UTC lies beyond the calendar's ends is that end."""
    if when.tzinfo is None:
        return when.isoformat()
    try:
        return when.astimezone(UTC).isoformat()
    except OverflowError:
        return (datetime.min if when.year == 1 else datetime.max).replace(tzinfo=UTC).isoformat()


def _row_to_entry(row: Mapping[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=int(row["seq"]), time=datetime.fromisoformat(row["time"]), tenant=row["tenant"],
        actor_kind=row["actor_kind"], actor=row["actor"], action=row["action"],
        resident=row["resident"], device=row["device"], decision=row["decision"],
        reason=row["reason"], detail=json.loads(row["detail"]), prev=row["prev"],
        hash=row["hash"], kid=kid_of(row),
    )


def _tail(conn: DbConnection) -> tuple[int, str]:
    """Sequence number and hash the next entry follows: the last entry, else the prune
    anchor, else the start of the chain."""
    last = audit_rows.last_entry(conn)
    if last is not None:
        return last
    anchor = latest_anchor(conn)
    return (anchor.seq, anchor.hash) if anchor is not None else (0, GENESIS)


class AuditLog:
    """The audit log in the gateway's store.

    :param keys: the audit HMAC keys; without them (tests, tools) entries are unkeyed,
        as before schema 5, and no checkpoint is written.
    :param checkpoints: where signed checkpoints of the head are appended.
    """

    def __init__(self, store: Store, clock: Clock, *, keys: AuditKeys | None = None,
                 checkpoints: CheckpointFile | None = None) -> None:
        self.store = store
        self.clock = clock
        self.keys = keys
        self.checkpoints = checkpoints
        self._appended: tuple[int, str] | None = None  # the last entry this process wrote
        self._checkpoint: Checkpoint | None = None  # the last checkpoint this process wrote
        self._task: asyncio.Task[None] | None = None
        self.periodic_checks = 0  # rounds of the checkpoint loop done (tests wait on it)

    async def open(self, *, production: bool = False) -> None:
        """Load (or create) the audit key; make sure it can continue the chain.

        :raises ConfigError: in production, when the log's last entry is keyed with a
            key the key file does not hold (in development: a warning).
        """
        if self.keys is None:
            return
        _ = self.keys.current  # reads the key file, or creates it with a first key
        head = await self.store.read(audit_rows.head_key)
        if head is not None and head[1] is not None and not self.keys.knows(str(head[1])):
            text = (f"the audit log's last entry ({head[0]}) is keyed with audit key {head[1]}, "
                    f"which {self.keys.path} does not hold: restore the key file from the "
                    "backup, or the entries before now cannot be verified")
            if production:
                raise ConfigError(text)
            log.warning("%s", text)

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
        keys = self.keys
        kid = keys.current if keys is not None else None

        def job(conn: DbConnection) -> AuditEntry:
            self.store.serialise(conn, "audit")  # other processes append to the same chain
            seq, prev = _tail(conn)
            row: dict[str, Any] = {
                "seq": seq + 1, "time": when, "tenant": tenant,
                "actor_kind": str(actor.kind), "actor": actor.id, "action": action,
                "resident": resident, "device": device, "decision": decision,
                "reason": reason, "detail": body, "prev": prev, "kid": kid,
            }
            row["hash"] = entry_hash(row, keys)
            audit_rows.insert_entry(conn, row)
            return _row_to_entry(row)

        entry = await self.store.write(job)
        if self._appended is None or entry.seq > self._appended[0]:
            self._appended = (entry.seq, entry.hash)
        return entry

    async def entries(self, tenant: str, *, resident: str | None = None,
                      device: str | None = None, actor: str | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """A tenant's entries, newest first (a resident's log extract with ``resident``).

        ``since`` is inclusive, ``until`` exclusive; ``action`` matches entries whose action
        contains it, in any case (``residents`` finds ``api POST /api/v1/residents``).
        """
        rows = await self.store.read(lambda conn: audit_rows.entries(
            conn, tenant, resident=resident, device=device, actor=actor,
            since=None if since is None else _as_stored(since),
            until=None if until is None else _as_stored(until), action=action, limit=limit))
        return [_row_to_entry(r) for r in rows]

    async def verify(self, *, expect_head: str | None = None) -> VerifyResult:
        """Recompute the whole chain and check it against every signed checkpoint."""
        signed, problems = await asyncio.to_thread(self._read_checkpoints)
        result = await self.store.read(lambda conn: verify_connection(
            conn, keys=self.keys, checkpoints=signed, expect_head=expect_head))
        return with_checkpoint_file(result, self.checkpoints, problems)

    def _read_checkpoints(self) -> tuple[list[Checkpoint], list[str]]:
        return self.checkpoints.read() if self.checkpoints is not None else ([], [])

    # ------------------------------------------------------------------ checkpoints

    async def checkpoint(self, reason: str) -> Checkpoint | None:
        """Verify what was appended since the last signed checkpoint and sign the head.

        Writes nothing, and logs an error naming each problem, when the chain does not
        verify (a signature must never vouch for a tampered log). A head that has not
        moved since is not signed again. Returns the checkpoint in force, or None.
        """
        keys, file = self.keys, self.checkpoints
        if keys is None or file is None:
            return None
        last = self._checkpoint or await asyncio.to_thread(file.last_signed, keys)
        if last is not None and (self._appended is None or self._appended[0] <= last.seq):
            head = await self.store.read(_tail)
            if head == (last.seq, last.hash):
                return last  # nothing new to vouch for
        appended = dict([self._appended]) if self._appended is not None else None
        result = await self.store.read(lambda conn: verify_connection(
            conn, keys=keys, after=last, expect=appended))
        if not result.ok:
            log.error("audit log: no checkpoint written (%s): the log does not verify: %s",
                      reason, "; ".join(result.problems))
            return None
        cp = Checkpoint.sign(keys, seq=result.head_seq, hash=result.head,
                             time=self.clock.now().isoformat())
        await asyncio.to_thread(file.append, cp)
        self._checkpoint = cp
        log.info("audit checkpoint (%s): entry %d, hash %s", reason, cp.seq, cp.hash,
                 extra={"audit_checkpoint": cp.as_dict()})
        return cp

    def start_checkpoints(self, interval_s: float) -> None:
        """Checkpoint every ``interval_s`` seconds of the clock while the log grows."""
        if self.keys is None or self.checkpoints is None or self._task is not None:
            return
        self._task = asyncio.create_task(self._checkpoint_loop(interval_s),
                                         name="audit-checkpoints")

    async def stop_checkpoints(self) -> None:
        """Stop the periodic checkpoints and sign the head one last time (only when they
        were started: a gateway that failed to start has nothing to vouch for)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        try:
            await self.checkpoint("stop")
        except Exception:
            log.exception("audit checkpoint at stop failed")

    async def _checkpoint_loop(self, interval_s: float) -> None:
        while True:
            await self.clock.sleep(interval_s)
            try:
                await self.checkpoint("interval")
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audit checkpoint failed; trying again in %g s", interval_s)
            self.periodic_checks += 1

    # ------------------------------------------------------------------ retention

    async def prune(self, before: datetime, *, limit: int | None = None) -> int:
        """Delete the entries older than ``before`` from a signed anchor; returns how many.

        ``limit`` bounds one call (at most that many entries go, each call its own anchor
        and transaction); call again until it returns 0.

        Only a run of the oldest entries goes (up to the first entry at or after
        ``before``), and only once it verifies: a broken chain is kept as evidence. The
        anchor (the last entry that goes, its hash, signed) is stored with the delete and
        appended to the checkpoint file; verification starts from it.

        :raises AuditError: the part to prune does not verify.
        """
        keys = self.keys
        if keys is None:
            raise ConfigError("pruning the audit log needs the audit key (audit.key_file)")
        cutoff = before.isoformat()

        def plan(conn: DbConnection) -> tuple[int, str, VerifyResult] | None:
            first_kept = audit_rows.first_since(conn, cutoff)
            head = audit_rows.head_seq(conn)
            upto = int(first_kept) - 1 if first_kept is not None else head
            anchor = latest_anchor(conn)
            if upto is not None and limit is not None:
                upto = min(upto, (anchor.seq if anchor is not None else 0) + limit)
            if upto is None or upto <= (anchor.seq if anchor is not None else 0):
                return None
            result = verify_connection(conn, keys=keys, upto=upto)
            return upto, result.head, result

        planned = await self.store.read(plan)
        if planned is None:
            return 0
        upto, upto_hash, result = planned
        if not result.ok:
            raise AuditError("the audit log was not pruned, it does not verify: "
                             + "; ".join(result.problems))
        anchor = Checkpoint.sign(keys, seq=upto, hash=upto_hash,
                                 time=self.clock.now().isoformat(), kind="prune")

        def job(conn: DbConnection) -> int:
            self.store.serialise(conn, "audit")
            if audit_rows.hash_at(conn, upto) != upto_hash:  # changed since it was verified
                raise AuditError(f"audit entry {upto} changed while it was being pruned")
            audit_rows.insert_anchor(conn, anchor.seq, anchor.hash, anchor.time, anchor.kid,
                                     anchor.mac)
            return audit_rows.delete_upto(conn, upto)

        removed = await self.store.write(job)
        if self.checkpoints is not None:
            await asyncio.to_thread(self.checkpoints.append, anchor)
        log.info("audit log pruned: %d entries up to %d (anchor %s)", removed, upto,
                 anchor.hash, extra={"audit_checkpoint": anchor.as_dict()})
        return removed

