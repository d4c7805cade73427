"""Through the whole gateway: a panel's zone and user reach the upstream centre unchanged.

A simulated panel sends SIA-DCS over TCP to Navet's DC-09 receiver; the alarm
is stored, ruled and delivered by the outbox to a ``dc09`` subscription whose
receiver is pysiaalarm (independent). Before contract 1.2 it arrived as zone
001 whatever the panel said.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until
from tests.services import free_port

from .test_receiver import transmitter

pysiaalarm = pytest.importorskip("pysiaalarm.aio", reason="pip install pysiaalarm")
from pysiaalarm import SIAAccount  # noqa: E402


@pytest.fixture
async def centre() -> AsyncIterator[tuple[int, list[Any]]]:
    """pysiaalarm as the upstream alarm receiving centre, account 9999."""
    got: list[Any] = []

    async def on_event(event: Any) -> None:
        got.append(event)

    port = free_port()
    client = pysiaalarm.SIAClient("127.0.0.1", port, [SIAAccount("9999", None)], on_event)
    await client.async_start()
    await asyncio.sleep(0.05)
    try:
        yield port, got
    finally:
        await client.async_stop()


@pytest.fixture(params=["SIA-DCS", "ADM-CID"])
def settings(request: pytest.FixtureRequest, tmp_path: Path,
             centre: tuple[int, list[Any]]) -> Settings:
    return Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # the upstream centre runs on this machine
        adapters=[{"adapter": "dc09", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "tcp_port": 0, "udp_port": 0,
            "accounts": [{"account": "1234"}]}}],
        subscriptions=[{"id": "arc", "tenant": "vasteras", "sink": "dc09",
                        "types": ["alarm.raised", "alarm.cancelled"],
                        "settings": {"receivers": [{"host": "127.0.0.1", "port": centre[0]}],
                                     "account": "9999", "format": request.param,
                                     "ack_timeout_s": 5}}],
    )


async def test_the_panels_zone_arrives_at_the_upstream_centre(
    gateway: Gateway, clock: FakeClock, centre: tuple[int, list[Any]], settings: Settings,
) -> None:
    _, got = centre
    async with transmitter(gateway, clock, "tcp", encrypted=False) as tx:
        assert (await tx.send_sia("MA", "011")).kind == "ACK"
        await wait_until(lambda: len(got) >= 1, timeout=10)
        assert (await tx.send_sia("MH", "011")).kind == "ACK"
        await wait_until(lambda: len(got) >= 2, timeout=10)
    raised, restored = got
    if settings.subscriptions[0].settings["format"] == "ADM-CID":
        assert (raised.code, raised.ri) == ("QA", "011")  # Contact ID 101, CCC 011
        assert (restored.code, restored.ri) == ("QH", "011")
    else:
        assert (raised.code, raised.message) == ("QA", "011")
        assert (restored.code, restored.message) == ("QH", "011")
