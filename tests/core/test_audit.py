"""The audit log is append-only and hash-chained; verify() finds any tampering."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import Actor, FakeClock
from gateway.core.audit import GENESIS, AuditLog, verify_database
from gateway.core.store import make_store


@pytest.fixture
async def log(database: str) -> AsyncIterator[AuditLog]:
    store = make_store(database)
    store.open()
    audit = AuditLog(store, FakeClock())
    await audit.open()
    staff = Actor(kind="staff", id="s-anna")
    for i in range(5):
        await audit.append(tenant="vasteras", actor=staff, action="lock.unlock",
                           decision="allowed" if i % 2 == 0 else "denied",
                           reason=f"reason {i}", resident="r-1001", device="lock:door-1",
                           detail={"command": f"c-{i}"})
    try:
        yield audit
    finally:
        store.close()


def tamper(audit: AuditLog, sql: str, *args: object) -> None:
    conn = audit.store.connect()
    conn.execute(sql, args)
    conn.close()


async def test_an_untouched_chain_verifies(log: AuditLog) -> None:
    result = await log.verify()
    assert result.ok and result.checked == 5
    entries = list(reversed(await log.entries("vasteras")))
    assert entries[0].prev == GENESIS
    assert all(b.prev == a.hash for a, b in itertools.pairwise(entries))
    assert result.head == entries[-1].hash


async def test_an_altered_entry_is_found(log: AuditLog) -> None:
    tamper(log, "UPDATE audit_log SET decision = 'allowed' WHERE seq = 2")
    result = await log.verify()
    assert not result.ok and result.first_bad == 2
    assert "entry 2: content does not match its hash (the entry was altered)" in result.problems


async def test_a_removed_entry_is_found(log: AuditLog) -> None:
    tamper(log, "DELETE FROM audit_log WHERE seq = 3")
    result = await log.verify()
    assert not result.ok and result.first_bad == 4
    assert any("missing" in p for p in result.problems)
    assert any("does not link" in p for p in result.problems)


async def test_reordered_entries_are_found(log: AuditLog) -> None:
    conn = log.store.connect()
    rows = {r[0]: r[1:] for r in conn.execute("SELECT seq, time, reason, detail, prev, hash "
                                              "FROM audit_log WHERE seq IN (2, 3)")}
    for seq, other in ((2, 3), (3, 2)):
        conn.execute("UPDATE audit_log SET time=?, reason=?, detail=?, prev=?, hash=? "
                     "WHERE seq=?", (*rows[other], seq))
    conn.close()
    result = await log.verify()
    assert not result.ok and result.first_bad == 2


async def test_a_rewritten_chain_is_caught_by_the_kept_head(log: AuditLog) -> None:
    head = (await log.verify()).head
    tamper(log, "DELETE FROM audit_log WHERE seq = 5")  # cutting the end leaves a valid chain
    assert (await log.verify()).ok
    result = await log.verify(expect_head=head)
    assert not result.ok and "expected head" in result.problems[0]


async def test_appends_continue_the_chain_and_are_read_newest_first(log: AuditLog) -> None:
    entry = await log.append(tenant="sala", actor=Actor(kind="staff", id="s-x"),
                             action="lock.lock", decision="denied", reason="no visit")
    assert entry.seq == 6
    assert [e.seq for e in await log.entries("sala")] == [6]
    assert [e.seq for e in await log.entries("vasteras", resident="r-1001", limit=2)] == [5, 4]
    assert (await log.verify()).ok


async def test_navet_audit_verify_cli(log: AuditLog, tmp_path: Path, database: str) -> None:
    db = database
    log.store.close()
    assert verify_database(db).ok
    ok = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify", "--database",
                         db, "--json"], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["checked"] == 5
    tamper(log, "UPDATE audit_log SET actor = 's-bo' WHERE seq = 1")
    bad = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify", "--database",
                          db], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 3
    assert "entry 1: content does not match its hash" in bad.stdout
    missing = subprocess.run([sys.executable, "-m", "gateway.cli", "audit", "verify",
                              "--database", str(tmp_path / "nope.db")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no database" in missing.stderr
    log.store.open()  # the fixture closes it
