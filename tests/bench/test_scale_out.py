"""Scale-out, reduced: two ``navet serve`` instances on one PostgreSQL schema and one
Mosquitto, sharing the MQTT intake; one is SIGKILLed mid-stream.

The other one must take over what the dead one held (its broker session, where the
broker kept handing it its turn of the messages, and what it had unacknowledged), so
nothing is lost and nothing is stored twice, and a live stream on the survivor misses
nothing the other one committed. The figures come from the benchmark's own
run (bench/scale_out.py); nothing about speed is asserted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bench.broker import BenchBroker
from bench.scale_out import one_run
from tests.postgres import PgServer
from tests.services import require_binary

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_two_instances_one_killed_lose_nothing_and_store_nothing_twice(
        pg_server: PgServer, tmp_path: Path) -> None:
    require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    args = argparse.Namespace(frames=300, devices=31, stall=40.0, rate=0.0,
                              graceful=False)
    with BenchBroker(tmp_path, inflight=100) as broker:
        figures = one_run(2, args, pg_server, broker, tmp_path, tmp_path / "data", kill=1)
    assert figures["lost"] == 0, figures
    assert figures["duplicated"] == 0, figures
    assert figures["takeover_s"] is not None, f"the dead instance was not taken over: {figures}"
    # a live SSE client of the surviving instance got every event, the other instance's and
    # the taken-over ones included, in commit order (LISTEN/NOTIFY, the seq lock)
    assert figures["stream_missing"] == 0 and figures["stream_in_store_order"], figures
    assert figures["out_of_order"] >= 0 and figures["redelivered"] >= 0
