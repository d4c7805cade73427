"""Fixtures for the out-of-process adapter tests: a real Mosquitto and Node.js."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.transports.mosquitto import MosquittoProcess
from tests.services import free_port, require_binary

from . import node


@pytest.fixture
async def mosquitto(tmp_path: Path) -> AsyncIterator[MosquittoProcess]:
    """A real Mosquitto on a free port, configured as the embedded broker is."""
    binary = require_binary("mosquitto", "apt-get install mosquitto", "/usr/sbin/mosquitto")
    proc = MosquittoProcess(port=free_port(), data_dir=tmp_path / "mosquitto", binary=binary)
    await proc.start()
    try:
        yield proc
    finally:
        await proc.stop()


@pytest.fixture
def node_bin() -> str:
    """``node`` with the example's pinned npm ``mqtt`` installed."""
    return node.install()
