"""The Node.js out-of-process adapter under SIGKILL: nothing acknowledged is lost, nothing
is stored twice.

A real Mosquitto sits between ``navet serve`` (a subprocess) and the example adapter
(``node examples/node-lock/main.js``, another subprocess), which makes 300 lock events,
journals each before publishing it and forgets it only when Navet acknowledges it on its
``acks`` topic (written to ``acked.log``). We SIGKILL one side halfway and check, by
reading the gateway's store:

* every event the adapter had an ack for when the kill came is stored;
* after the restart the adapter gets an ack for every event (it exits 0 only then), and
  the store holds exactly the 300 ids the example's UUID v5 scheme gives (computed here
  with Python's ``uuid``), each once;
* the events reach the operator stream (``GET /api/v1/stream``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.transports.mosquitto import MosquittoProcess
from tests.postgres import query_database
from tests.services import free_port
from tests.test_crash_recovery import Gatewayprocess, _until

from . import node

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

TENANT = "vasteras"
EVENTS = 300
TIMEOUT = 90.0


def _lock_ids(db: str) -> list[str]:
    return [r[0] for r in query_database(
        db, "SELECT id FROM events WHERE tenant = ? AND type LIKE 'lock.%'", (TENANT,))]


def _process_states(db: str) -> list[str]:
    return [r[0] for r in query_database(
        db, "SELECT type FROM events WHERE tenant = ? AND device = ? AND type LIKE 'device.%' "
        "ORDER BY seq",
        (TENANT, "nyckelbo:adapter-process"))]


def _acked(state: Path) -> set[str]:
    log = state / "acked.log"
    if not log.exists():
        return set()
    return {line.split()[0] for line in log.read_text().splitlines() if line.strip()}


@pytest.fixture
def setup(tmp_path: Path, mosquitto: MosquittoProcess, node_bin: str
          ) -> Iterator[tuple[Gatewayprocess, node.NodeAdapter, str, Path]]:
    http_port = free_port()
    db = __import__("os").environ.get("NAVET_DATABASE") or str(tmp_path / "data" / "navet.db")
    config = tmp_path / "navet.yaml"
    config.write_text(yaml.safe_dump({
        "environment": "development",
        "data_dir": str(tmp_path / "data"),
        "log_format": "json",
        "mqtt": {"mode": "external", "host": "127.0.0.1", "port": mosquitto.port,
                 "client_id": "navet-oop-crash"},
        "http": {"host": "127.0.0.1", "port": http_port},
        "remote_adapters": [str(node.MANIFEST)],
        "adapters": [{"adapter": "nyckelbo", "tenant": TENANT}],
    }))
    state = tmp_path / "nyckelbo-state"
    gw = Gatewayprocess(config, http_port, tmp_path)
    adapter = node.NodeAdapter(node_bin, tmp_path, "--url", f"mqtt://127.0.0.1:{mosquitto.port}",
                               "--tenant", TENANT, "--state", str(state), "--send", str(EVENTS),
                               "--interval-ms", "10", "--heartbeat-s", "1",
                               "--resend-after-s", "5", "--exit-when-acked")
    try:
        yield gw, adapter, db, state
    finally:
        adapter.stop()
        gw.stop()


def _expected() -> set[str]:
    return {node.expected_id(TENANT, i) for i in range(EVENTS)}


async def _stream_ids(http_port: int, want: set[str]) -> set[str]:
    """Lock event ids read from the operator stream from its start until ``want`` is seen."""
    seen: set[str] = set()
    url = f"http://127.0.0.1:{http_port}/api/v1/stream"
    async with asyncio.timeout(TIMEOUT), httpx.AsyncClient(timeout=TIMEOUT) as http, \
            http.stream("GET", url, params={"tenant": TENANT, "after": 0,
                                            "type": "lock."}) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                seen.add(json.loads(line[5:])["id"])
                if seen >= want:
                    break
    return seen


async def _finish(gw: Gatewayprocess, adapter: node.NodeAdapter, db: str, state: Path) -> None:
    """The adapter exits 0 once all is acked; the store holds each expected id once."""
    code = await asyncio.to_thread(adapter.wait, TIMEOUT)
    assert code == 0, f"the adapter did not get every ack:\n{adapter.log()}\n{gw.log_tail()}"
    final = _lock_ids(db)
    assert len(final) == len(set(final)), "an event was stored twice"
    assert set(final) == _expected(), (len(final), adapter.log())
    assert _acked(state) == _expected()
    assert not list((state / "pending").glob("*.json")), "the journal still holds events"
    assert set(await _stream_ids(gw.http_port, _expected())) >= _expected()


async def test_gateway_killed_while_the_node_adapter_sends(setup: tuple) -> None:
    gw, adapter, db, state = setup
    await gw.start()
    adapter.start()
    await _until(lambda: len(_lock_ids(db)) >= EVENTS // 3, TIMEOUT,
                 "the gateway to store a third of the events",
                 lambda: adapter.log() + gw.log_tail())
    acked_before = _acked(state)
    gw.sigkill()
    after_kill = set(_lock_ids(db))
    assert acked_before, "nothing was acknowledged before the kill"
    assert acked_before <= after_kill, "an acknowledged event is not in the store"
    assert len(after_kill) < EVENTS, "the kill came too late to test anything"
    await asyncio.sleep(1.0)  # the adapter keeps making events meanwhile; the broker keeps them
    assert adapter.returncode is None, adapter.log()
    await gw.start()
    await _finish(gw, adapter, db, state)


async def test_node_adapter_killed_while_it_sends(setup: tuple) -> None:
    gw, adapter, db, state = setup
    await gw.start()
    adapter.start()
    await _until(lambda: len(_lock_ids(db)) >= EVENTS // 4, TIMEOUT,
                 "the gateway to store a quarter of the events",
                 lambda: adapter.log() + gw.log_tail())
    adapter.sigkill()
    unacked = list((state / "pending").glob("*.json"))
    made = int((state / "next").read_text())
    assert unacked or made < EVENTS, "the kill came too late: everything was already acked"
    acked_before = _acked(state)
    assert acked_before <= set(_lock_ids(db)), "an acknowledged event is not in the store"
    await _until(lambda: "device.offline" in _process_states(db), TIMEOUT,
                 "the adapter process's last will (device.offline)", gw.log_tail)
    adapter.start()  # same journal: resends what is unacked, continues where it stopped
    await _finish(gw, adapter, db, state)
    def heard_again() -> bool:  # its restart is heard: online after the kill's offline
        states = _process_states(db)
        return "device.online" in states[states.index("device.offline"):]

    await _until(heard_again, TIMEOUT, "device.online of the restarted adapter process",
                 lambda: str(_process_states(db)))
