"""The audit log anchored outside the database: a keyed chain and signed checkpoints.

Whoever can write the database but does not hold the audit key cannot rewrite the
chain so that it verifies, and cannot cut its end without a signed checkpoint
naming the entries that went. Retention prunes from a signed anchor; entries from
before the key existed are anchored by the first keyed entry and checkpoint.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway import Actor, FakeClock
from gateway.core.audit import AuditError, AuditKeys, AuditLog, CheckpointFile
from gateway.core.audit_anchor import canonical
from gateway.core.audit_verify import COLUMNS
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.core.store import Store, make_store
from gateway.errors import ConfigError
from gateway.testing import wait_until
from gateway.transports.memory import MemoryBroker

T0 = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
STAFF = Actor(kind="staff", id="s-anna")


def keys_at(tmp_path: Path) -> AuditKeys:
    return AuditKeys.at(tmp_path / "keys" / "audit-keys.json")


def checkpoints_at(tmp_path: Path) -> CheckpointFile:
    return CheckpointFile(tmp_path / "audit" / "checkpoints.jsonl")


async def append(log: AuditLog, n: int, *, start: int = 0, days: bool = False) -> None:
    for i in range(start, start + n):
        await log.append(tenant="vasteras", actor=STAFF, action="lock.unlock",
                         decision="allowed" if i % 2 == 0 else "denied", reason=f"reason {i}",
                         resident="r-1001", device="lock:door-1", detail={"command": f"c-{i}"},
                         time=T0 + timedelta(days=i) if days else None)


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    s = make_store(database)
    s.open()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
async def log(store: Store, tmp_path: Path) -> AuditLog:
    """Five keyed entries (days apart) and a signed checkpoint of entry 5."""
    audit = AuditLog(store, FakeClock(T0), keys=keys_at(tmp_path),
                     checkpoints=checkpoints_at(tmp_path))
    await audit.open()
    await append(audit, 5, days=True)
    assert (await audit.checkpoint("test")) is not None
    return audit


def rows(store: Store) -> list[dict[str, Any]]:
    conn = store.connect()
    try:
        return [dict(zip(r.keys(), tuple(r), strict=True))
                for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]
    finally:
        conn.close()


def execute(store: Store, sql: str, *args: Any) -> None:
    conn = store.connect()
    try:
        conn.execute(sql, args)
    finally:
        conn.close()


def rewrite_consistently(store: Store, change: dict[int, dict[str, Any]], *,
                         drop_keys: bool) -> None:
    """What someone with write access to the database and no key can do: change entries
    and recompute every hash and link after them, as the unkeyed chain is computed."""
    prev = "0" * 64
    for row in rows(store):
        row.update(change.get(row["seq"], {}))
        row["prev"] = prev
        fields = {c: row[c] for c in COLUMNS}
        row["hash"] = hashlib.sha256(canonical(fields)).hexdigest()
        if drop_keys:
            row["kid"] = None
        execute(store, "UPDATE audit_log SET decision = ?, prev = ?, hash = ?, kid = ? "
                       "WHERE seq = ?", row["decision"], row["prev"], row["hash"], row["kid"],
                row["seq"])
        prev = row["hash"]


async def test_a_keyed_chain_verifies_against_its_checkpoint(log: AuditLog) -> None:
    result = await log.verify()
    assert result.ok, result.problems
    assert (result.checked, result.keyed, result.checkpoints, result.anchored) == (5, 5, 1, 5)
    entries = list(reversed(await log.entries("vasteras")))
    assert {e.kid for e in entries} == {log.keys.current} and result.head == entries[-1].hash


async def test_a_consistent_rewrite_with_the_keys_kept_fails_every_hmac(
    log: AuditLog,
) -> None:
    rewrite_consistently(log.store, {2: {"decision": "allowed"}}, drop_keys=False)
    result = await log.verify()
    assert not result.ok and result.first_bad == 1
    assert "entry 2: content does not match its HMAC (the entry was altered, or written " \
           "without the audit key)" in result.problems


async def test_a_consistent_rewrite_into_the_unkeyed_format_is_caught_by_the_checkpoint(
    log: AuditLog,
) -> None:
    rewrite_consistently(log.store, {2: {"decision": "allowed"}}, drop_keys=True)
    result = await log.verify()
    assert not result.ok
    assert any(p.startswith("entry 5: is not the entry the checkpoint of") and
               "(the chain was rewritten)" in p for p in result.problems), result.problems


async def test_a_cut_tail_is_caught_by_the_checkpoint(log: AuditLog) -> None:
    execute(log.store, "DELETE FROM audit_log WHERE seq > 3")
    result = await log.verify()
    assert not result.ok and result.first_bad == 4
    assert any("names entry 5, but the log ends at entry 3: entries 4..5 were removed" in p
               for p in result.problems), result.problems


async def test_an_unkeyed_entry_after_keyed_ones_is_a_forgery(log: AuditLog) -> None:
    last = rows(log.store)[-1]
    forged = {**last, "seq": 6, "prev": last["hash"], "decision": "allowed", "kid": None}
    forged["hash"] = hashlib.sha256(canonical({c: forged[c] for c in COLUMNS})).hexdigest()
    execute(log.store, f"INSERT INTO audit_log ({', '.join(forged)}) VALUES "
                       f"({', '.join('?' for _ in forged)})", *forged.values())
    result = await log.verify()
    assert "entry 6: is not keyed, but entries before it are (written without the audit key)" \
        in result.problems


async def test_a_forged_or_missing_checkpoint_file_is_reported(log: AuditLog) -> None:
    file = log.checkpoints
    assert file is not None
    line = json.loads(file.path.read_text().splitlines()[-1])
    with file.path.open("a") as fh:
        fh.write(json.dumps({**line, "seq": 3, "mac": "0" * 64}) + "\nnot json\n")
    result = await log.verify()
    assert any("entry 3: the checkpoint of" in p and "is not signed by the audit key" in p
               for p in result.problems), result.problems
    assert any("line 3 is not a checkpoint" in p for p in result.problems)
    file.path.unlink()
    result = await log.verify()
    assert any("no checkpoint file at" in p for p in result.problems), result.problems


async def test_no_checkpoint_vouches_for_a_tampered_log(
    log: AuditLog, caplog: pytest.LogCaptureFixture,
) -> None:
    assert log.checkpoints is not None
    before = log.checkpoints.path.read_text()
    await append(log, 1, start=5)
    execute(log.store, "UPDATE audit_log SET reason = 'rewritten' WHERE seq = 6")
    with caplog.at_level(logging.ERROR):
        assert await log.checkpoint("interval") is None
    assert log.checkpoints.path.read_text() == before
    assert any("no checkpoint written (interval)" in r.getMessage() and "entry 6" in
               r.getMessage() for r in caplog.records)


async def test_entries_this_gateway_appended_and_then_lost_are_not_signed_away(
    log: AuditLog, caplog: pytest.LogCaptureFixture,
) -> None:
    await append(log, 2, start=5)  # entries 6 and 7, not yet checkpointed
    execute(log.store, "DELETE FROM audit_log WHERE seq > 5")  # the unsigned tail is cut
    with caplog.at_level(logging.ERROR):
        assert await log.checkpoint("interval") is None
    assert any("what this gateway appended names entry 7, but the log ends at entry 5"
               in r.getMessage() for r in caplog.records)


async def test_a_legacy_chain_is_continued_keyed_and_anchored(
    store: Store, tmp_path: Path,
) -> None:
    legacy = AuditLog(store, FakeClock(T0))  # as before schema 5: no key
    await append(legacy, 3)
    keyed = AuditLog(store, FakeClock(T0), keys=keys_at(tmp_path),
                     checkpoints=checkpoints_at(tmp_path))
    await keyed.open()
    await keyed.checkpoint("start")
    await append(keyed, 2, start=3)
    await keyed.checkpoint("stop")
    result = await keyed.verify()
    assert result.ok and (result.checked, result.keyed, result.anchored) == (5, 2, 5)
    assert [r["kid"] is None for r in rows(store)] == [True, True, True, False, False]

    # the old entries cannot be rewritten either: the first keyed entry's HMAC covers them
    rewrite_consistently(store, {1: {"decision": "denied"}}, drop_keys=False)
    problems = (await keyed.verify()).problems
    assert "entry 4: content does not match its HMAC (the entry was altered, or written " \
           "without the audit key)" in problems
    assert any(p.startswith("entry 3: is not the entry the checkpoint of") for p in problems)


async def test_retention_prunes_from_a_signed_anchor(log: AuditLog) -> None:
    assert await log.prune(T0 + timedelta(days=2, hours=1)) == 3  # entries 1..3 (days 0..2)
    result = await log.verify()
    assert result.ok, result.problems
    assert (result.start, result.checked, result.head_seq) == (3, 2, 5)
    assert log.checkpoints is not None
    assert json.loads(log.checkpoints.path.read_text().splitlines()[-1])["kind"] == "prune"
    await append(log, 1, start=5)
    assert [r["seq"] for r in rows(log.store)] == [4, 5, 6]
    assert (await log.verify()).ok

    execute(log.store, "UPDATE audit_anchor SET seq = 4")  # claim more was pruned
    assert any("the prune anchor is not signed by the audit key" in p
               for p in (await log.verify()).problems)
    execute(log.store, "DELETE FROM audit_anchor")  # hide that anything was pruned
    problems = (await log.verify()).problems
    assert "entry 4: follows entry 0: entries 1..3 are missing" in problems


async def test_pruning_everything_continues_the_chain_from_the_anchor(log: AuditLog) -> None:
    assert await log.prune(T0 + timedelta(days=30)) == 5
    await append(log, 1, start=5)
    assert [r["seq"] for r in rows(log.store)] == [6]
    result = await log.verify()
    assert result.ok and (result.start, result.head_seq) == (5, 6)


async def test_a_broken_chain_is_kept_not_pruned(log: AuditLog) -> None:
    execute(log.store, "UPDATE audit_log SET decision = 'allowed' WHERE seq = 2")
    with pytest.raises(AuditError, match="not pruned, it does not verify: entry 2"):
        await log.prune(T0 + timedelta(days=30))
    assert len(rows(log.store)) == 5


async def test_appends_from_two_processes_stay_one_chain(
    database: str, tmp_path: Path,
) -> None:
    """Two writers on one database (a gateway and a command, or two instances on
    PostgreSQL): the database serialises their appends, so the chain stays whole."""
    first, second = make_store(database), make_store(database)
    first.open()
    second.open(exclusive=False)
    try:
        logs = [AuditLog(s, FakeClock(T0), keys=keys_at(tmp_path)) for s in (first, second)]

        async def burst(log: AuditLog, who: str) -> None:
            for i in range(25):
                await log.append(tenant="vasteras", actor=Actor(kind="staff", id=who),
                                 action="lock.unlock", decision="allowed", reason=str(i))

        await asyncio.gather(burst(logs[0], "s-a"), burst(logs[1], "s-b"))
        result = await logs[0].verify()
        assert result.ok and result.checked == 50, result.problems
    finally:
        first.close()
        second.close()


async def test_an_unknown_audit_key_refuses_production_and_warns_in_development(
    log: AuditLog, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    elsewhere = AuditLog(log.store, FakeClock(T0), keys=keys_at(tmp_path / "lost"))
    with pytest.raises(ConfigError, match=r"last entry \(5\) is keyed with audit key .* "
                                          "restore the key file"):
        await elsewhere.open(production=True)
    with caplog.at_level(logging.WARNING):
        await elsewhere.open(production=False)
    assert any("restore the key file" in r.getMessage() for r in caplog.records)


async def test_the_gateway_checkpoints_at_start_while_the_log_grows_and_at_stop(
    settings: Settings, tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    await gw.start()
    file = settings.audit_checkpoint_path

    def signed() -> list[int]:
        return [json.loads(line)["seq"] for line in file.read_text().splitlines()]

    async def interval() -> None:
        """One checkpoint period later, once the loop has done its round (its reads and
        the file write happen off the event loop, so wait for the round, bounded)."""
        done = gw.audit.periodic_checks
        await clock.advance(settings.audit.checkpoint_interval_s + 1)
        await wait_until(lambda: gw.audit.periodic_checks != done, "the checkpoint loop's round")

    try:
        assert signed() == [0]  # at start, the (empty) head
        await append(gw.audit, 2)
        await interval()
        assert signed() == [0, 2]
        await interval()
        assert signed() == [0, 2]  # the head did not move
        await append(gw.audit, 1, start=2)
    finally:
        await gw.stop()
    assert signed() == [0, 2, 3]  # at stop
    assert file.stat().st_mode & 0o777 == 0o600


async def test_the_newest_signed_checkpoint_is_found_from_the_end_of_a_long_file(
    log: AuditLog,
) -> None:
    assert log.keys is not None and log.checkpoints is not None
    signed = log.checkpoints.last_signed(log.keys)
    assert signed is not None and signed.seq == 5
    with log.checkpoints.path.open("a") as fh:  # more than the tail it reads: garbage, forgeries
        for i in range(2000):
            fh.write(json.dumps({**signed.as_dict(), "seq": 100 + i, "mac": "0" * 64}) + "\n")
    assert log.checkpoints.last_signed(log.keys, tail_bytes=4096) == signed
