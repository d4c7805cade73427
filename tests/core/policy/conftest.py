from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway

from .helpers import MONDAY_0645_UTC, lock_gateway


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_0645_UTC)


@pytest.fixture
async def gw(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Gateway]:
    async for g in lock_gateway(tmp_path, clock):
        yield g
