"""Verifying the audit log: the chain, its keys, its anchor and its checkpoints.

:func:`verify_rows` walks the entries in ``seq`` order and reports every break;
:func:`verify_connection` reads them (with the prune anchor) from a database
connection; :func:`verify_database` opens a database by itself for ``navet audit
verify``, read-only, with no running gateway. The format of entries, checkpoints
and anchors is in :mod:`.audit` and :mod:`.audit_anchor`.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

from .audit_anchor import ENTRY, AuditKeys, Checkpoint, CheckpointFile, canonical
from .store import SQLITE_URL, DbConnection, is_postgres, make_store
from .store.repos import audit as audit_rows

GENESIS = "0" * 64
"""``prev`` of the first entry."""

COLUMNS = ("seq", "time", "tenant", "actor_kind", "actor", "action", "resident", "device",
           "decision", "reason", "detail", "prev")
"""What an entry's hash covers (a keyed entry's also covers ``kid``)."""


class AuditKeyMissing(ConfigError):
    """The log is keyed and no audit key was given to verify it with."""


def kid_of(row: Mapping[str, Any]) -> str | None:
    """An entry's key id; None for an entry from before the log was keyed (or a database
    from before schema 5)."""
    keys = row.keys() if hasattr(row, "keys") else ()
    return row["kid"] if "kid" in keys else None


def entry_hash(row: Mapping[str, Any], keys: AuditKeys | None = None) -> str | None:
    """The hash an entry must carry: SHA-256 of its canonical form when it names no key,
    else the HMAC under the key it names (None when that key is not at hand)."""
    fields = {c: row[c] for c in COLUMNS}
    kid = kid_of(row)
    if kid is None:
        return hashlib.sha256(canonical(fields)).hexdigest()
    if keys is None:
        raise AuditKeyMissing(f"the audit log is keyed (entry {row['seq']}: audit key {kid}); "
                              "verify it with its settings (--config) or --key-file")
    return keys.mac(ENTRY, {**fields, "kid": kid}, kid)


@dataclass
class VerifyResult:
    """What verification found: ``ok`` and, when not, each problem in words."""

    checked: int = 0
    head: str = GENESIS
    head_seq: int = 0
    keyed: int = 0
    start: int = 0
    """The chain starts after this entry (a prune anchor's), 0 when nothing was pruned."""
    checkpoints: int = 0
    """Signed checkpoints the chain was found to match."""
    anchored: int = 0
    """The newest entry a signed checkpoint vouches for."""
    problems: list[str] = field(default_factory=list)
    first_bad: int | None = None
    max_problems: int = 20

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, seq: int, text: str) -> None:
        self.first_bad = seq if self.first_bad is None else min(self.first_bad, seq)
        if len(self.problems) < self.max_problems:
            self.problems.append(f"entry {seq}: {text}")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "head": self.head,
                "head_seq": self.head_seq, "keyed": self.keyed, "start": self.start,
                "checkpoints": self.checkpoints, "anchored": self.anchored,
                "first_bad": self.first_bad, "problems": list(self.problems)}


def verify_rows(rows: Iterable[Mapping[str, Any]], *, keys: AuditKeys | None = None,
                start: Checkpoint | None = None, checkpoints: Sequence[Checkpoint] = (),
                expect: Mapping[int, str] | None = None, expect_head: str | None = None,
                max_problems: int = 20) -> VerifyResult:
    """Walk the chain in ``seq`` order and report every break.

    - an entry whose content no longer matches its hash (or HMAC) was **altered**, or
      written by someone without the audit key;
    - a gap in ``seq``, or a ``prev`` that is not the previous entry's hash, means
      entries were **removed** or **reordered**;
    - ``start`` is the signed anchor the chain continues from after a prune;
    - each signed checkpoint must name an entry that is there with the hash it
      signed: one beyond the end means the end was **cut**, one that differs means
      the chain was **rewritten**;
    - ``expect`` (seq -> hash the caller knows, e.g. what this process appended) and
      ``expect_head`` (a head kept elsewhere) are checked the same way, unsigned.

    :raises AuditKeyMissing: a keyed entry, anchor or checkpoint and no ``keys``.
    """
    result = VerifyResult(max_problems=max_problems)
    if start is not None:
        _check_signed(start, keys, result, "the prune anchor")
        result.start = start.seq
    prev_hash, prev_seq = (start.hash, start.seq) if start is not None else (GENESIS, 0)
    wanted = {cp.seq for cp in checkpoints} | set(expect or {})
    seen: dict[int, str] = {}
    keyed_before = False

    for row in rows:
        seq = int(row["seq"])
        result.checked += 1
        if seq != prev_seq + 1:
            result.problem(seq, f"follows entry {prev_seq}: entries {prev_seq + 1}..{seq - 1} "
                                "are missing" if seq > prev_seq + 1
                           else f"is out of order after {prev_seq}")
        if row["prev"] != prev_hash:
            result.problem(seq, "does not link to the entry before it (removed or reordered "
                                "entries)")
        kid = kid_of(row)
        if kid is None and keyed_before:
            result.problem(seq, "is not keyed, but entries before it are (written without the "
                                "audit key)")
        else:
            expected = entry_hash(row, keys)
            if expected is None:
                result.problem(seq, f"names audit key {kid}, which the key file does not hold")
            elif not hmac.compare_digest(expected, str(row["hash"])):
                result.problem(seq, "content does not match its hash (the entry was altered)"
                               if kid is None else "content does not match its HMAC (the "
                               "entry was altered, or written without the audit key)")
        if kid is not None:
            keyed_before = True
            result.keyed += 1
        if seq in wanted:
            seen[seq] = str(row["hash"])
        prev_hash, prev_seq = str(row["hash"]), seq
    result.head, result.head_seq = prev_hash, prev_seq
    seen[result.start] = start.hash if start is not None else GENESIS

    for cp in checkpoints:
        if not _check_signed(cp, keys, result, f"the checkpoint of {cp.time}"):
            continue
        if cp.seq < result.start:
            continue  # pruned since: the anchor took over
        if _matches(result, seen, cp.seq, cp.hash, f"the checkpoint of {cp.time}"):
            result.checkpoints += 1
            result.anchored = max(result.anchored, cp.seq)
    for seq, known in (expect or {}).items():
        if seq >= result.start:  # before the start it was verified (or pruned) already
            _matches(result, seen, seq, known, "what this gateway appended")
    if expect_head is not None and expect_head != prev_hash:
        result.problem(prev_seq, f"the chain ends in {prev_hash[:16]}…, not in the expected head "
                                 f"{expect_head[:16]}… (entries removed or rewritten at the end)")
    return result


def _check_signed(cp: Checkpoint, keys: AuditKeys | None, result: VerifyResult,
                  what: str) -> bool:
    if keys is None:
        raise AuditKeyMissing(f"{what} is signed with audit key {cp.kid}; verify it with its "
                              "settings (--config) or --key-file")
    signed = cp.signed_by(keys)
    if signed is None:
        result.problem(cp.seq, f"{what} names audit key {cp.kid}, which the key file does "
                               "not hold")
    elif not signed:
        result.problem(cp.seq, f"{what} is not signed by the audit key (forged or altered)")
    return bool(signed)


def _matches(result: VerifyResult, seen: Mapping[int, str], seq: int, known: str,
             what: str) -> bool:
    if seq > result.head_seq:
        result.problem(result.head_seq + 1,
                       f"{what} names entry {seq}, but the log ends at entry {result.head_seq}: "
                       f"entries {result.head_seq + 1}..{seq} were removed")
        return False
    if seen.get(seq) != known:
        result.problem(seq, f"is not the entry {what} vouches for (the chain was rewritten)")
        return False
    return True


# --------------------------------------------------------------------------- reading


def latest_anchor(conn: DbConnection) -> Checkpoint | None:
    """The newest prune anchor in the database (None when nothing was ever pruned)."""
    try:
        row = audit_rows.latest_anchor_row(conn)
    except Exception as err:  # a database from before schema 5 has no anchors
        if "audit_anchor" not in str(err):
            raise
        return None
    if row is None:
        return None
    return Checkpoint(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), "prune")


def verify_connection(conn: DbConnection, *, keys: AuditKeys | None = None,
                      after: Checkpoint | None = None, upto: int | None = None,
                      checkpoints: Sequence[Checkpoint] = (),
                      expect: Mapping[int, str] | None = None,
                      expect_head: str | None = None) -> VerifyResult:
    """Verify the chain in the database ``conn`` reaches.

    It starts at the prune anchor, or at ``after`` (a signed checkpoint already
    verified, to check only what came since) when that is later; ``upto`` stops it
    there (what a prune is about to remove)."""
    anchor = latest_anchor(conn)
    start = anchor
    result_extra: list[tuple[int, str]] = []
    if after is not None and (anchor is None or after.seq > anchor.seq):
        start = after
        if after.seq > 0 and audit_rows.hash_at(conn, after.seq) != after.hash:
            result_extra.append((after.seq, "is not the entry the checkpoint of "
                                            f"{after.time} vouches for (the chain was "
                                            "rewritten or cut)"))
    rows = audit_rows.rows_after(conn, start.seq if start else 0, upto)
    result = verify_rows(rows, keys=keys, start=start,
                         checkpoints=checkpoints, expect=expect, expect_head=expect_head)
    for seq, text in result_extra:
        result.problem(seq, text)
    return result


def with_checkpoint_file(result: VerifyResult, file: CheckpointFile | None,
                         problems: Sequence[str]) -> VerifyResult:
    """Add what is wrong with the checkpoint file itself."""
    for text in problems:
        result.problem(result.head_seq, text)
    if file is not None and result.keyed and not file.exists():
        result.problem(result.head_seq, f"no checkpoint file at {file.path}: a gateway writes "
                                        "one when it starts, so it was removed or moved")
    return result


def verify_database(database: str | Path, *, keys: AuditKeys | None = None,
                    checkpoints: CheckpointFile | None = None,
                    expect_head: str | None = None) -> VerifyResult:
    """Verify the audit log of ``database``: a SQLite file (opened read-only) or a
    PostgreSQL URL, with the audit key and the checkpoint file when given.

    Used by ``navet audit verify``; needs no running gateway and changes nothing.
    """
    signed, file_problems = checkpoints.read() if checkpoints is not None else ([], [])
    text = str(database)

    def run(conn: DbConnection) -> VerifyResult:
        return with_checkpoint_file(
            verify_connection(conn, keys=keys, checkpoints=signed, expect_head=expect_head),
            checkpoints, file_problems)

    if is_postgres(text):
        pg = make_store(text).connect()
        try:
            if not audit_rows.has_audit_table_postgres(pg):
                return with_checkpoint_file(verify_rows([], keys=keys, checkpoints=signed),
                                            checkpoints, file_problems)
            return run(pg)
        finally:
            pg.close()
    file = Path(text.removeprefix(SQLITE_URL))
    if not file.exists():
        raise FileNotFoundError(f"no database at {file}")
    conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if not audit_rows.has_audit_table_sqlite(conn):
            return with_checkpoint_file(verify_rows([], keys=keys, checkpoints=signed),
                                        checkpoints, file_problems)
        return run(conn)
    finally:
        conn.close()
