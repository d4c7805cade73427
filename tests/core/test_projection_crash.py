"""SIGKILL in the middle of the store's write batches never splits an event from the
alarm projection it changes: both are in one transaction (issue 14)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.core.alarmstate import fold_history
from gateway.core.model import EventAdapter
from gateway.core.store import make_store
from gateway.core.store.alarms import read_alarms
from tests.postgres import query_database

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _count(db: str) -> int:
    rows = query_database(db, "SELECT count(*) FROM events")
    return int(rows[0][0]) if rows else 0


@pytest.mark.parametrize("kill_at", [300, 1500])
async def test_a_writer_killed_mid_batch_leaves_projection_and_events_agreeing(
    tmp_path: Path, database: str, kill_at: int,
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.core.projection_writer", database], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while _count(database) < kill_at:
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert loop.time() < deadline, "the writer did not get going"
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    store = make_store(database)
    store.open()
    try:
        def read(conn: Any) -> Any:
            events = [(int(r[0]), EventAdapter.validate_json(r[1])) for r in conn.execute(
                "SELECT seq, body FROM events ORDER BY seq")]
            folded = {(r[0], r[1]): r[2] for r in conn.execute(
                "SELECT tenant, id, folded_into FROM alarms WHERE folded_into IS NOT NULL")}
            return events, read_alarms(conn, open_only=False), folded

        events, rows, folded = store.read_sync(read)
        records, into, _ = fold_history(events)
        want = {(r.tenant, r.id): (r.state, r.priority, r.repeats, r.folded, r.acknowledged_by,
                                   r.closed_by, r.outcome) for r in records if r.state}
        got = {(r.tenant, r.id): (r.state, r.priority, r.repeats, r.folded, r.acknowledged_by,
                                  r.closed_by, r.outcome) for r in rows}
        assert len(events) >= kill_at and want  # killed mid-stream, after real work
        assert got == want
        assert folded == into
        assert {(r.tenant, r.id) for r in store.alarm_index.open()} == {
            k for k, v in want.items() if v[0].open}
    finally:
        store.close()
