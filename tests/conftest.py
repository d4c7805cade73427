"""Shared fixtures: a gateway on the in-memory MQTT twin and a fake clock."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.core.store import is_postgres
from gateway.transports.memory import MemoryBroker
from tests.logscan import LogScan
from tests.postgres import (
    HOW,
    PgServer,
    database_of,
    driver_available,
    fresh_schema,
    reset_databases,
    start_server,
)
from tests.services import free_port, services_required, unavailable
from tests.store_use import _watch_store_use, mark, write_record  # noqa: F401  (autouse)

# Property tests judge Navet's decoders, not how fast this machine draws examples: on a
# loaded CI machine (two cores, other suites running) input generation alone took over
# four seconds for one example, and Hypothesis's speed checks failed a correct decoder.
# Each test's own max_examples still holds; only the timing checks are off.
hypothesis_settings.register_profile(
    "navet", deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
hypothesis_settings.load_profile("navet")

# --------------------------------------------------------------------------- which store

TEST_DATABASE = "NAVET_TEST_DATABASE"
"""Unset or ``sqlite``: every test runs on SQLite. ``postgresql``: every test runs on a
PostgreSQL server the session starts; ``postgresql://user@host/db``: on that server.
Each test gets a schema of its own either way."""

Settings_target = Settings.database_target.fget  # type: ignore[attr-defined]
_pg: PgServer | None = None
_pg_base: str | None = None
_pg_missing: str | None = None


def _backend() -> str:
    return os.environ.get(TEST_DATABASE, "").strip() or "sqlite"


def _start_session_postgres() -> None:
    global _pg, _pg_base, _pg_missing
    mode = _backend()
    if mode == "sqlite":
        return
    if not driver_available():
        _pg_missing = f"psycopg is not installed: {HOW}"
    elif is_postgres(mode):
        _pg_base = mode
    elif mode == "postgresql":
        try:
            _pg = start_server(free_port())
        except (OSError, RuntimeError) as err:
            _pg_missing = str(err)
    else:
        raise pytest.UsageError(f"{TEST_DATABASE} is sqlite, postgresql or a postgresql:// URL, "
                                f"not {mode!r}")
    if _pg_missing and services_required():
        raise pytest.UsageError(f"{TEST_DATABASE}={mode}: {_pg_missing}")


def fresh_database_url() -> str:
    """A PostgreSQL URL with a schema of its own (on the session's server)."""
    if _pg is not None:
        return _pg.fresh_url()
    assert _pg_base is not None
    return fresh_schema(_pg_base)


@pytest.fixture(autouse=True)
def _store_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every Settings (and every gateway process a test starts) at this run's store."""
    if _backend() == "sqlite":
        monkeypatch.delenv("NAVET_DATABASE", raising=False)
        return
    if _pg_missing:
        pytest.skip(f"this run is on PostgreSQL, which is not available: {_pg_missing}")
    url = fresh_database_url()
    monkeypatch.setenv("NAVET_DATABASE", url)
    reset_databases()

    def target(self: Settings) -> str:  # a schema per data directory, like a file per one
        return database_of(self.data_dir) if self.database == url else Settings_target(self)

    monkeypatch.setattr(Settings, "database_target", property(target))


@pytest.fixture
def database(tmp_path: Path) -> str:
    """What a test that builds its own store opens: this run's backend, empty."""
    return os.environ.get("NAVET_DATABASE") or str(tmp_path / "navet.db")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for tests about the PostgreSQL store itself (whatever the run)."""
    if _pg is not None:
        yield _pg
        return
    if not driver_available():
        unavailable("psycopg", HOW)
    try:
        server = start_server(free_port())
    except (OSError, RuntimeError) as err:
        unavailable("PostgreSQL", f"{err} ({HOW})")
        raise AssertionError("unreachable") from err
    try:
        yield server
    finally:
        server.destroy()


def pytest_report_header(config: pytest.Config) -> str:
    return f"navet store: {_backend()} (set {TEST_DATABASE}=postgresql to run on PostgreSQL)"


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
async def gateway(
    settings: Settings, clock: FakeClock, broker: MemoryBroker
) -> AsyncIterator[Gateway]:
    gw = Gateway(settings, clock=clock, mqtt=broker.client("navet"))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


# --------------------------------------------------------------------------- secrets in logs

_LOGSCAN = LogScan()


def pytest_configure(config: pytest.Config) -> None:
    _start_session_postgres()
    root = logging.getLogger()
    root.addHandler(_LOGSCAN)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)  # what production logs is what must be clean


def pytest_unconfigure(config: pytest.Config) -> None:
    if _pg is not None:
        _pg.destroy()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say once why the tests against HL7's R5 definitions skipped (tests/fhir)."""
    from tests.fhir import r5_definitions

    if r5_definitions.package_dir.cache_info().currsize and r5_definitions.package_dir() is None:
        terminalreporter.write_sep("=", "FHIR R5 definitions missing", yellow=True)
        terminalreporter.write_line(
            "the tests that validate against hl7.fhir.r5.core skipped: "
            + r5_definitions.missing_reason())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark(items)  # the store marker: what the PostgreSQL pass runs (tests/store_use.py)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    write_record(session)
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
