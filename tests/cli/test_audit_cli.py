"""``navet audit verify|checkpoint|rotate-key|export`` and ``navet privacy export --out``.

``navet audit verify --config FILE`` needs nothing else: the settings name the
database, the audit key and the checkpoint file, so a cut end or a rewritten chain is
found with no head kept by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from gateway import Actor, FakeClock
from gateway.cli import main
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings, load_settings
from gateway.core.store import Store
from gateway.transports.memory import MemoryBroker

STAFF = Actor(kind="staff", id="s-anna")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    file = tmp_path / "navet.yaml"
    file.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"),
                                    "mqtt": {"mode": "memory"}}))
    return file


async def run_gateway(config: Path, entries: int, *, start: int = 0) -> Settings:
    """Start a gateway on ``config``, audit ``entries`` lock openings, stop it."""
    settings = load_settings(config)
    gw = Gateway(settings, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))
    await gw.start()
    try:
        for i in range(start, start + entries):
            await gw.audit.append(tenant="vasteras", actor=STAFF, action="lock.unlock",
                                  decision="allowed", reason=f"planned visit {i}",
                                  resident="r-1")
    finally:
        await gw.stop()  # a checkpoint of the head at stop
    return settings


@pytest.fixture
async def audited(config: Path) -> AsyncIterator[Settings]:
    yield await run_gateway(config, 4)


def execute(settings: Settings, sql: str) -> None:
    from gateway.core.store import make_store

    conn: Store = make_store(settings.database_target).connect()
    try:
        conn.execute(sql)
    finally:
        conn.close()


async def cli(*args: str) -> int:
    """``navet ARGS`` as a user runs it (commands run their own event loop)."""
    return await asyncio.to_thread(main, list(args))


async def verify(config: Path, capsys: pytest.CaptureFixture[str],
                 *extra: str) -> tuple[int, str]:
    code = await cli("audit", "verify", "--config", str(config), *extra)
    out = capsys.readouterr()
    return code, out.out + out.err


async def test_verify_with_only_the_config_finds_a_cut_end(
    audited: Settings, config: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = await verify(config, capsys)
    assert code == 0, out
    assert "audit log intact: 4 entries (4 keyed)" in out and "the newest at entry 4" in out
    execute(audited, "DELETE FROM audit_log WHERE seq >= 3")
    code, out = await verify(config, capsys)
    assert code == 3
    assert "names entry 4, but the log ends at entry 2: entries 3..4 were removed" in out


async def test_verify_finds_a_consistently_rewritten_chain(
    audited: Settings, config: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from gateway.core.audit import GENESIS, entry_hash
    from gateway.core.store import make_store

    conn = make_store(audited.database_target).connect()
    try:
        prev = GENESIS
        for row in [dict(zip(r.keys(), tuple(r), strict=True))
                    for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]:
            row.update(prev=prev, kid=None, reason=row["reason"].replace("planned", "no"))
            row["hash"] = entry_hash(row)  # the unkeyed chain, recomputed end to end
            conn.execute("UPDATE audit_log SET reason = ?, prev = ?, hash = ?, kid = NULL "
                         "WHERE seq = ?", (row["reason"], row["prev"], row["hash"], row["seq"]))
            prev = row["hash"]
    finally:
        conn.close()
    assert await cli("audit", "verify", "--database", audited.database_target) == 0  # fits
    capsys.readouterr()
    code, out = await verify(config, capsys, "--json")
    assert code == 3
    found = json.loads(out)
    assert not found["ok"] and found["keyed"] == 0
    assert any("is not the entry the checkpoint of" in p for p in found["problems"])


async def test_verify_of_a_keyed_log_without_its_key_says_what_to_give(
    audited: Settings, capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = await cli("audit", "verify", "--database", audited.database_target), \
        capsys.readouterr().err
    assert code == 1
    assert "the audit log is keyed" in out and "--config" in out and "no --key-file" in out
    code = await cli("audit", "verify", "--database", audited.database_target, "--key-file",
                 str(audited.audit_key_path), "--checkpoints",
                 str(audited.audit_checkpoint_path))
    assert code == 0, capsys.readouterr()


async def test_checkpoint_and_rotate_key_from_the_command_line(
    audited: Settings, config: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    first = json.loads(audited.audit_key_path.read_text())["current"]
    assert await cli("audit", "rotate-key", "--config", str(config)) == 0
    current = json.loads(audited.audit_key_path.read_text())["current"]
    assert current != first and f"audit key {current} is current" in capsys.readouterr().out
    await run_gateway(config, 2, start=4)  # new entries are keyed with the new key
    code, out = await verify(config, capsys, "--json")
    assert code == 0, out
    assert json.loads(out)["keyed"] == 6

    lines = audited.audit_checkpoint_path.read_text().splitlines()
    assert await cli("audit", "checkpoint", "--config", str(config)) == 0
    assert audited.audit_checkpoint_path.read_text().splitlines() == lines  # nothing new
    await append_beside(audited, 2)  # entries 7 and 8, appended by a tool: no checkpoint yet
    assert await cli("audit", "checkpoint", "--config", str(config)) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["seq"] == 8
    await append_beside(audited, 1)
    execute(audited, "UPDATE audit_log SET decision = 'denied' WHERE seq = 9")
    assert await cli("audit", "checkpoint", "--config", str(config)) == 3
    assert "does not verify; no checkpoint written" in capsys.readouterr().out


async def append_beside(settings: Settings, n: int) -> None:
    """Entries appended by another process with the same keys (and no checkpoint)."""
    from gateway.core.audit import AuditKeys, AuditLog
    from gateway.core.store import make_store

    store = make_store(settings.database_target)
    store.open(exclusive=False)
    try:
        log = AuditLog(store, FakeClock(), keys=AuditKeys.at(settings.audit_key_path))
        for _ in range(n):
            await log.append(tenant="vasteras", actor=STAFF, action="lock.lock",
                             decision="allowed", reason="visit over", resident="r-1")
    finally:
        store.close()


async def test_exports_are_written_0600_even_over_a_wider_file(
    audited: Settings, config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "exports" / "audit.jsonl"
    out.parent.mkdir()
    out.write_text("old")
    os.chmod(out, 0o644)
    assert await cli("audit", "export", "--config", str(config), "--tenant", "vasteras",
                 "--resident", "r-1", "--out", str(out)) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]

    care = tmp_path / "care.yaml"
    care.write_text(yaml.safe_dump({"tenants": [{"id": "vasteras", "name": "Västerås",
                                                 "residents": [{"id": "r-1"}]}]}))
    settings = load_settings(config, care_config=[str(care)])
    gw = Gateway(settings, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))
    await gw.start()
    await gw.stop()
    export = tmp_path / "r-1.json"
    assert await cli("privacy", "export", "--config", str(config), "--tenant", "vasteras",
                 "--resident", "r-1", "--out", str(export)) == 0
    assert export.stat().st_mode & 0o777 == 0o600
    assert json.loads(export.read_text())["resident"]["id"] == "r-1"
