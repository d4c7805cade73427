"""Voice-call negotiation in the answer to an alarm (SS 91100 §5, TR 91102 §5.3-5.7)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway import FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.transports.memory import MemoryBroker
from plugins.alarms.scaip.models import Mrq, UnitSettings
from plugins.alarms.scaip.voice import voice_reply
from simulators.scaip import ScaipUnit


def _mrq(crd: tuple[str, ...] = (), cha: int | None = None) -> Mrq:
    return Mrq(ref="1", cid="678", dty=3, stc=10, crd=crd, cha=cha)


def test_no_voice_unless_configured_and_offered() -> None:
    assert voice_reply(_mrq(), UnitSettings(password="p")) == {}
    assert voice_reply(_mrq(crd=("no-voice:",)), UnitSettings(password="p", mre=1)) == {}
    assert voice_reply(_mrq(), UnitSettings(password="p", mre=1)) == {"mre": 1}  # predefined


def test_callback_when_the_unit_asks_for_one() -> None:
    unit = UnitSettings(password="p", mre=1, callback_minutes=5, call_to="gsm:+46101234567")
    assert voice_reply(_mrq(crd=("gsm:+4670000",), cha=1), unit) == {"mre": 1, "cre": 5}


def test_call_a_configured_destination_in_a_scheme_the_unit_offers() -> None:
    unit = UnitSettings(password="p", mre=1, call_to="gsm:+46101234567")
    assert voice_reply(_mrq(crd=("sip:unit7@x", "gsm:+4670000")), unit) == {
        "mre": 1, "cre": 62, "tnu": ("gsm:+46101234567",)}
    # a unit that can only do SIP calls its predefined receiver instead
    assert voice_reply(_mrq(crd=("sip:unit7@x",)), unit) == {"mre": 1}


def test_force_a_bearer_among_several() -> None:
    unit = UnitSettings(password="p", mre=2, call_scheme="gsm")
    assert voice_reply(_mrq(crd=("sip:u@x", "gsm:")), unit) == {
        "mre": 2, "cre": 61, "tnu": ("gsm:",)}
    assert voice_reply(_mrq(crd=("gsm:",)), unit) == {"mre": 2}  # nothing to choose between


async def test_the_unit_gets_the_negotiated_call_in_its_final_answer(tmp_path: Path) -> None:
    clock = FakeClock()
    settings = Settings(data_dir=tmp_path, mqtt={"mode": "memory"}, adapters=[{
        "adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0, "hold": False, "units": {"unit7": {
                "password": "s3cret", "mre": 1, "call_to": "gsm:+46101234567"}}}}])
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    await gw.start()
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", gw.adapter_instances["scaip-vasteras"]
                                         .ports["udp"]), clock=clock)
    await unit.start()
    try:
        assert await unit.register() == 200
        final = await asyncio.wait_for(unit.alarm("personal_button", crd="gsm:+4670000"), 10)
    finally:
        await unit.stop()
        await gw.stop()
    assert final.snu == 0 and final.mre == 1
    assert final.fields.get("cre") == "62" and final.fields.get("tnu") == "gsm:+46101234567"
