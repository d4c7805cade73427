"""Accounts without an AES key: refused in production unless ``allow_clear``, warned always.

A clear DC-09 account authenticates nothing: whoever knows the account number can send
alarms and restorals for it. Production (``environment: production``) refuses such an
account at start unless the account says ``allow_clear: true``; every start logs a
warning for each clear account, whatever the environment.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from gateway import ConfigError, FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from plugins.alarms.dc09.models import AccountSettings

from .conftest import KEY_HEX


def settings(tmp_path: Path, environment: str, accounts: list[dict[str, Any]]) -> Settings:
    production = environment == "production"
    return Settings(
        environment=environment, data_dir=tmp_path,
        # production refuses the in-memory twin and an open API; the test hands the gateway
        # an in-memory client all the same
        mqtt={"mode": "external", "username": "navet"} if production else {"mode": "memory"},
        auth={"mode": "local"} if production else {"mode": "off"},
        adapters=[{"adapter": "dc09", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "tcp_port": 0, "accounts": accounts}}],
    )


async def start(s: Settings) -> Gateway:
    gw = Gateway(s, clock=FakeClock(), mqtt=MemoryBroker().client("navet"))
    try:
        await gw.start()
    except BaseException:
        await gw.stop()
        raise
    return gw


def clear_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "has no AES key" in r.getMessage()]


async def test_production_refuses_a_clear_account_and_names_it(tmp_path: Path) -> None:
    s = settings(tmp_path, "production", [{"account": "1234"}, {"account": "77AA"},
                                          {"account": "5678", "key": KEY_HEX}])
    with pytest.raises(ConfigError) as refused:
        await start(s)
    text = str(refused.value)
    assert "dc09-vasteras" in text and "1234, 77AA" in text and "5678" not in text
    assert "allow_clear: true" in text


async def test_production_starts_with_allow_clear_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings(tmp_path, "production", [{"account": "1234", "allow_clear": True},
                                          {"account": "5678", "key": KEY_HEX}])
    with caplog.at_level(logging.WARNING):
        gw = await start(s)
    try:
        assert gw.adapter_instances["dc09-vasteras"].tcp_address is not None  # listening
        [warning] = clear_warnings(caplog)
        assert "account 1234" in warning and "allowed by allow_clear" in warning
    finally:
        await gw.stop()


async def test_development_starts_with_a_clear_account_and_warns_about_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings(tmp_path, "development", [{"account": "1234"}, {"account": "2345"},
                                           {"account": "5678", "key": KEY_HEX}])
    with caplog.at_level(logging.WARNING):
        gw = await start(s)
    try:
        warnings = clear_warnings(caplog)
        assert len(warnings) == 2
        assert "account 1234" in warnings[0] and "account 2345" in warnings[1]
        assert all("production refuses it" in w for w in warnings)
    finally:
        await gw.stop()


def test_allow_clear_on_an_account_with_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="allow_clear is for an account without a key"):
        AccountSettings(account="5678", key=KEY_HEX, allow_clear=True)
