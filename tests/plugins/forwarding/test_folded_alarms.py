"""Issue 12 item 2: a press folded into an open alarm never reaches a centre as a restoral.

The whole path, as the issue found it: a SCAIP unit (our simulator over real SIP)
raises an alarm and, while it is held, a second one (a new ref). Navet folds the
second into the first. Navet forwards to two independent receivers at once:
pysiaalarm over DC-09 (SIA-DCS) and a receiver that parses every telegram with the
``sos-access`` package's schemas. Then the resident cancels at the unit.

Each centre must see the second press as a repeat alarm (the same code and zone;
SOS Access: an alarm of its own reference), and exactly one restoral, for the
resident's cancel, at the end; never a restoral for the fold itself.
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
from gateway.transports.memory import MemoryBroker
from simulators.scaip import ScaipUnit
from tests.services import free_port

from .test_sos_access import AUTH, Receiver

pysiaalarm = pytest.importorskip(
    "pysiaalarm.aio", reason="pip install pysiaalarm (the independent DC-09 receiver)")
from pysiaalarm import SIAAccount  # noqa: E402

TENANT = "vasteras"


@pytest.fixture
async def sia() -> AsyncIterator[tuple[int, list[Any]]]:
    events: list[Any] = []

    async def on_event(event: Any) -> None:
        events.append(event)

    port = free_port()
    client = pysiaalarm.SIAClient("127.0.0.1", port, [SIAAccount("1234", None)], on_event)
    await client.async_start()
    await asyncio.sleep(0.05)
    yield port, events
    await client.async_stop()


@pytest.fixture
async def sos() -> AsyncIterator[Receiver]:
    rx = Receiver()
    await rx.start()
    yield rx
    await rx.stop()


@pytest.fixture
async def navet(tmp_path: Path, sia: tuple[int, list[Any]],
                sos: Receiver) -> AsyncIterator[Gateway]:
    settings = Settings(
        data_dir=tmp_path, mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # the centres run on this machine
        adapters=[{"adapter": "scaip", "tenant": TENANT, "settings": {
            "host": "127.0.0.1", "port": 0, "units": {"unit7": {"password": "s3cret"}}}}],
        subscriptions=[
            {"id": "to-dc09", "tenant": TENANT, "sink": "dc09", "types": ["alarm."],
             "settings": {"receivers": [{"host": "127.0.0.1", "port": sia[0]}],
                          "account": "1234", "ack_timeout_s": 3.0}},
            {"id": "to-sos", "tenant": TENANT, "sink": "sos-access", "types": ["alarm."],
             "settings": {"receivers": [{"host": "127.0.0.1", "port": sos.port}],
                          "authentication": AUTH, "receiver": "SOS-TEST",
                          "transmitter_type": "NAVET", "transmitter_code": "NV000001",
                          "timeout_s": 3}},
        ],
    )
    gw = Gateway(settings, mqtt=MemoryBroker().client("navet"))  # real time: real centres
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


async def test_a_folded_press_reaches_the_centres_as_a_repeat_never_as_a_restoral(
    navet: Gateway, sia: tuple[int, list[Any]], sos: Receiver,
) -> None:
    _, dc09 = sia
    port = navet.adapter_instances[f"scaip-{TENANT}"].ports["udp"]
    unit_clock = FakeClock()  # the unit's own poll timer: it keeps holding, never polls
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", port), clock=unit_clock)
    await unit.start()
    held: list[asyncio.Task[Any]] = []
    try:
        assert await unit.register() == 200
        held.append(asyncio.create_task(unit.alarm("personal_button")))
        await wait_until(lambda: unit.holds >= 1, "the first alarm held", timeout=15)
        held.append(asyncio.create_task(unit.alarm("personal_button")))
        await wait_until(lambda: unit.holds >= 2, "the second alarm held", timeout=15)

        def stored(type_: str) -> list[Any]:
            return [s.event for s in navet.store.query_events(TENANT, types=[type_])]

        await wait_until(lambda: len(stored("alarm.updated")) == 1, "the fold", timeout=15)
        first, second = stored("alarm.raised")
        (fold,) = stored("alarm.updated")
        assert fold.alarm == first.alarm

        # both presses reached both centres as alarms, the second as a repeat of the first
        await wait_until(lambda: len(dc09) >= 2 and len(sos.alarms) >= 2,
                         "two alarms upstream", timeout=15)

        # the resident cancels at the unit: the one restoral each centre may see
        assert (await unit.event("cancel")).snu == 0
        await wait_until(lambda: len(dc09) >= 3 and len(sos.alarms) >= 3,
                         "the restoral upstream", timeout=15)
        await asyncio.sleep(1.0)  # anything more the sinks would send arrives meanwhile

        assert [(e.account, e.code) for e in dc09] == [("1234", "QA"), ("1234", "QA"),
                                                       ("1234", "QH")]
        assert [a.alarm_type for a in sos.alarms] == ["AL", "AL", "RE", "RE"]
        al_first, al_second, *restorals = sos.alarms
        assert al_first.event_code == al_second.event_code == "QA"
        assert al_first.reference != al_second.reference  # SOS Access: each press its own
        # the resident's cancel ends the whole happening there, the repeat included
        assert {r.reference for r in restorals} == {al_first.reference, al_second.reference}
        assert {r.event_code for r in restorals} == {"QH"}
        assert fold.data.folded.alarm == second.alarm
        (cancel,) = stored("alarm.cancelled")
        assert cancel.alarm == first.alarm  # the alarm the unit's refs belong to
        assert not any(navet.store.outbox_depth().values())
    finally:
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
        await unit.stop()
