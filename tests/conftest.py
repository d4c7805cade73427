"""Shared fixtures: a gateway on the in-memory MQTT twin and a fake clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from tests.logscan import LogScan


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        mqtt={"mode": "memory"},
        adapters=[{"adapter": "zigbee2mqtt", "tenant": "vasteras"}],
        subscriptions=[{"id": "nb", "tenant": "vasteras", "sink": "mqtt", "types": ["*"]}],
    )


@pytest.fixture
async def gateway(settings: Settings, clock: FakeClock, broker: MemoryBroker) -> AsyncIterator[Gateway]:
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


# --------------------------------------------------------------------------- secrets in logs

_LOGSCAN = LogScan()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(_LOGSCAN)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)  # what production logs is what must be clean


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.getLogger().removeHandler(_LOGSCAN)
    leaks = _LOGSCAN.leaks()
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"{len(leaks)} log record(s) carry a secret:", *leaks[:20]]
        if reporter is not None:
            reporter.write_sep("=", "secrets in logs", red=True)
            for line in lines:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
