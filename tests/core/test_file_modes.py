"""The data directory is 0700 and what holds secrets or personal data 0600.

Created so (whatever the umask), and checked at every start: a wider mode is a
warning naming the path, its mode and the ``chmod`` that fixes it in development,
and a refusal to start in production.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.core.store import Subscription
from gateway.errors import ConfigError
from gateway.transports.memory import MemoryBroker

SECRET = "whsec-file-modes-0123456789abcdefghij"


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """What most systems give a service: files 0644, directories 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make(data_dir: Path, environment: str = "development", **extra: Any) -> Gateway:
    production = environment == "production"
    settings = Settings(
        environment=environment, data_dir=data_dir,
        mqtt={"mode": "external", "username": "navet"} if production else {"mode": "memory"},
        auth={"mode": "local"} if production else {"mode": "off"},
        outbound={"allow": ["203.0.113.0/24"]}, **extra)
    return Gateway(settings, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))


async def test_what_a_gateway_creates_is_private(tmp_path: Path) -> None:
    data = tmp_path / "srv" / "navet"
    gw = make(data)
    await gw.start()
    try:
        await gw.add_subscription(Subscription("wh", "vasteras", "webhook", ("*",), {
            "url": "https://203.0.113.10/hook", "secret": SECRET}))
        created = {p: mode(p) for p in (data, data / "keys", data / "audit")}
        created |= {p: mode(p) for p in (data / "keys" / "data-keys.json",
                                         data / "keys" / "audit-keys.json",
                                         data / "audit" / "checkpoints.jsonl")}
        if not gw.settings.database_is_url and "NAVET_DATABASE" not in os.environ:
            db = data / "navet.db"
            created |= {p: mode(p) for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))}
            assert len(created) == 9
    finally:
        await gw.stop()
    wide = {str(p): oct(m) for p, m in created.items()
            if m != (0o700 if p.is_dir() else 0o600)}
    assert wide == {}


def spoil(data: Path) -> dict[Path, int]:
    """Modes an operator's copy or an old install might leave."""
    wider = {data: 0o755, data / "keys" / "data-keys.json": 0o644,
             data / "audit" / "checkpoints.jsonl": 0o640}
    if "NAVET_DATABASE" not in os.environ:
        wider[data / "navet.db"] = 0o644
    for path, m in wider.items():
        os.chmod(path, m)
    return wider


async def prepared(tmp_path: Path) -> Path:
    data = tmp_path / "navet"
    gw = make(data)
    await gw.start()
    _ = gw.pii.keys.current  # the data key file exists
    await gw.stop()
    return data


async def test_development_warns_about_each_wider_file_and_starts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    data = await prepared(tmp_path)
    wider = spoil(data)
    gw = make(data)
    with caplog.at_level(logging.WARNING):
        await gw.start()
    await gw.stop()
    warned = [r.getMessage() for r in caplog.records if "wider than" in r.getMessage()]
    assert len(warned) == len(wider)
    assert f"directory {data} has mode 0755, wider than 0700 (fix: chmod 700 {data})" \
        in warned[0]
    key = data / "keys" / "data-keys.json"
    assert any(f"file {key} has mode 0644, wider than 0600 (fix: chmod 600 {key})" in w
               for w in warned)
    assert mode(data) == 0o755  # reported, not changed behind the operator's back


async def test_production_refuses_to_start_and_names_every_wider_file(tmp_path: Path) -> None:
    data = await prepared(tmp_path)
    wider = spoil(data)
    gw = make(data, "production")
    with pytest.raises(ConfigError) as refused:
        await gw.start()  # before it opened anything
    text = str(refused.value)
    assert text.startswith("production refuses to start while others may read its data")
    for path, m in wider.items():
        assert f"{path} has mode {m:04o}" in text and f"chmod {'700' if path.is_dir() else '600'}"\
            f" {path}" in text
    for path in wider:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    again = make(data, "production")
    await again.start()  # fixed: it starts
    await again.stop()
