"""The Mosquitto broker for one benchmark run, configured as Navet configures it for users.

:class:`gateway.transports.mosquitto.MosquittoProcess` writes the config, so the
benchmark measures the broker setup users get: unlimited per-client queues
(``max_queued_messages 0`` — with Mosquitto's default of 1000 a slow
subscriber silently loses QoS 1 messages, which would flatter any figure) on a
free port in a throw-away data directory. This wrapper only makes it usable
from the synchronous orchestrator.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.transports.mosquitto import BrokerLimits, MosquittoProcess


class BenchBroker:
    def __init__(self, workdir: Path, *, inflight: int) -> None:
        self._proc = MosquittoProcess(
            data_dir=workdir / "mosquitto",
            limits=BrokerLimits(max_queued_messages=0, max_inflight_messages=inflight),
        )
        self.host = self._proc.host
        self.port = self._proc.port
        self.inflight = inflight

    def __enter__(self) -> BenchBroker:
        asyncio.run(self._proc.start())
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run(self._proc.stop())
