"""A unit is acknowledged only once its request is stored: a store failure answers 500."""

from __future__ import annotations

from typing import Any

from gateway import FakeClock, RawFrame
from gateway.errors import StoreUnavailableError
from plugins.alarms.scaip.models import ScaipSettings
from plugins.alarms.scaip.ua import ScaipUserAgent
from simulators.scaip import ScaipUnit


class FailingHost:
    """A host whose store is down: ingest raises, as the pipeline does then."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.frames: list[RawFrame] = []

    async def ingest(self, frame: RawFrame) -> Any:
        self.frames.append(frame)
        raise StoreUnavailableError("disk full")

    async def alarm_state(self, alarm: str) -> str | None:
        return None


async def test_store_failure_answers_500_and_no_mrs(clock: FakeClock) -> None:
    host = FailingHost(clock)
    config = ScaipSettings(host="127.0.0.1", port=0, transports=("udp",),
                           units={"unit7": {"password": "pw"}})
    ua = ScaipUserAgent(config, host, "vasteras", "scaip-vasteras")  # type: ignore[arg-type]
    await ua.start()
    unit = ScaipUnit("unit7", "pw", ("127.0.0.1", ua.listener.ports["udp"]), clock=clock)
    await unit.start()
    try:
        resp = await unit.request("MESSAGE", unit.mrq("1", dty=3, stc=10))
        assert resp.status == 500
        assert len(host.frames) == 1 and host.frames[0].transport == "sip-udp"
        assert host.frames[0].address == "sip:unit7@navet.local"
        assert unit.received == []
    finally:
        await unit.stop()
        await ua.stop()
