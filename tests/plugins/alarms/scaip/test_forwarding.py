"""Navet forwarding alarms to an upstream SCAIP receiver, and the acknowledgement coming back.

Two gateways on one fake clock: Navet (downstream) receives a SCAIP unit's
alarm and forwards it with the ``scaip`` sink to an upstream alarm receiving
centre (another Navet acting as a plain SCAIP receiver). The centre holds the
alarm until its operator takes it; then the forwarder acknowledges the alarm
in Navet and the unit, still polling, is answered ``snu=0``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway import Actor, FakeClock
from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.testing import wait_until as wait_for
from gateway.transports.memory import MemoryBroker
from plugins.alarms.scaip.forwarder import ScaipForwardSink, mrq_ref
from simulators.scaip import ScaipUnit
from tests.services import loopback_outbound


@pytest.fixture
async def centre(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Gateway]:
    """The upstream alarm receiving centre: a SCAIP receiver that knows Navet as unit 'navet'."""
    settings = Settings(
        data_dir=tmp_path / "centre", mqtt={"mode": "memory"},
        adapters=[{"adapter": "scaip", "tenant": "larmcentral", "settings": {
            "host": "127.0.0.1", "port": 0, "transports": ["udp", "tcp"],
            "units": {"navet": {"password": "upstream-secret"}}}}],
    )
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("centre"))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


def _port(gw: Gateway, instance: str, transport: str) -> int:
    return int(gw.adapter_instances[instance].ports[transport])


@pytest.fixture(params=["udp", "tcp"])
async def navet(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock,
                centre: Gateway) -> AsyncIterator[Gateway]:
    transport = request.param
    settings = Settings(
        data_dir=tmp_path / "navet", mqtt={"mode": "memory"},
        outbound={"allow_loopback": True},  # the upstream centre runs on this machine
        adapters=[{"adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0, "units": {"unit7": {"password": "s3cret"}}}}],
        subscriptions=[{"id": "to-centre", "tenant": "vasteras", "sink": "scaip",
                        "types": ["alarm."], "settings": {
                            "host": "127.0.0.1",
                            "port": _port(centre, "scaip-larmcentral", transport),
                            "transport": transport, "user": "navet",
                            "password": "upstream-secret", "cid": "4711",
                            "hold_interval_s": 10, "centre": "larmcentral-op"}}],
    )
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


async def advance_until(clock: FakeClock, predicate: Callable[[], bool], *,
                        step: float = 10, rounds: int = 6) -> None:
    """Move the clock a poll interval at a time until ``predicate`` holds.

    A poll that was still on the wire when the clock last moved sleeps from a
    later time, so one step may not wake it; the next one does.
    """
    for _ in range(rounds):
        await clock.advance(step)
        with contextlib.suppress(AssertionError):
            await wait_for(predicate, timeout=2.0)
            return
    assert predicate(), f"still not true after {rounds * step:g} s of clock time"


def _raised(gw: Gateway, tenant: str) -> list[Any]:
    return [s.event for s in gw.store.query_events(tenant) if s.event.type == "alarm.raised"]


async def test_alarm_is_forwarded_held_upstream_and_the_centres_acknowledgement_flows_back(
    navet: Gateway, centre: Gateway, clock: FakeClock,
) -> None:
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", _port(navet, "scaip-vasteras", "udp")),
                     clock=clock, hold_max_s=600)
    await unit.start()
    sink = navet.sinks["to-centre"]
    assert isinstance(sink, ScaipForwardSink)
    try:
        assert await unit.register() == 200
        session = asyncio.create_task(unit.alarm("fall"))
        # hop 1: the unit's alarm is stored in Navet and held (nobody has it yet)
        await wait_for(lambda: unit.holds >= 1)
        (ours,) = _raised(navet, "vasteras")
        assert ours.data.kind == "fall"
        # hop 2: the forwarder sent it upstream with digest auth; the centre holds it too
        await wait_for(lambda: len(_raised(centre, "larmcentral")) == 1)
        (theirs,) = _raised(centre, "larmcentral")
        assert theirs.data.kind == "fall"  # dty 5 / stc 9 read back as a fall alarm
        assert theirs.alarm == f"scaip:navet:{mrq_ref(ours.alarm)}"  # one ref per alarm
        await wait_for(lambda: ours.alarm in sink.status()["holding"])

        # polls on both sides while the centre holds: nothing is acknowledged here
        await clock.advance(10)
        await wait_for(lambda: unit.holds >= 2)
        assert await navet.alarms.state("vasteras", ours.alarm) == "raised"

        # hop 3: the centre's operator takes the alarm; the forwarder's next poll sees
        # snu=0 and acknowledges in Navet on the centre's behalf
        await centre.alarms.acknowledge("larmcentral", theirs.alarm,
                                        Actor(kind="operator", id="op-centre"))
        await advance_until(clock, lambda: ours.alarm in sink.taken)
        rec = await navet.alarms.alarm("vasteras", ours.alarm)
        assert rec is not None and str(rec.state) == "acknowledged"
        assert rec.acknowledged_by is not None and rec.acknowledged_by.id == "larmcentral-op"

        # hop 4: the unit, still polling, learns that a person has its alarm
        await advance_until(clock, session.done)
        final = session.result()
        assert final.snu == 0
        assert len(_raised(navet, "vasteras")) == 1 and len(_raised(centre, "larmcentral")) == 1
    finally:
        await unit.stop()


async def test_wrong_upstream_password_keeps_the_alarm_in_the_outbox(
    tmp_path: Path, clock: FakeClock, centre: Gateway,
) -> None:
    from types import SimpleNamespace

    from gateway import TransportError, make_event

    sink = ScaipForwardSink({"host": "127.0.0.1",
                             "port": _port(centre, "scaip-larmcentral", "udp"),
                             "user": "navet", "password": "wrong", "timeout_s": 2},
                            SimpleNamespace(clock=clock, alarms=None, outbound=loopback_outbound()))
    event = make_event("alarm.raised", tenant="vasteras", time=clock.now(),
                       source={"adapter": "scaip", "protocol": "scaip", "ref": "x"},
                       alarm="scaip:unit7:1", data={"kind": "personal_button"})
    try:
        with pytest.raises(TransportError, match="refused") as err:
            await sink.deliver(event)
    finally:
        await sink.aclose()
    assert not err.value.permanent  # credentials get fixed; the alarm must still go
    assert _raised(centre, "larmcentral") == []


async def test_centre_that_never_takes_the_alarm_gets_re_and_navet_keeps_it_open(
    clock: FakeClock, centre: Gateway,
) -> None:
    from types import SimpleNamespace

    from gateway import make_event

    acks: list[Any] = []

    class Alarms:
        async def acknowledge(self, *args: Any) -> None:
            acks.append(args)

    sink = ScaipForwardSink({"host": "127.0.0.1",
                             "port": _port(centre, "scaip-larmcentral", "udp"),
                             "user": "navet", "password": "upstream-secret",
                             "hold_interval_s": 10, "hold_max_s": 30},
                            SimpleNamespace(clock=clock, alarms=Alarms(),
                                            outbound=loopback_outbound()))
    alarm = "scaip:unit7:77"
    event = make_event("alarm.raised", tenant="vasteras", time=clock.now(),
                       source={"adapter": "scaip", "protocol": "scaip", "ref": "77"},
                       alarm=alarm, data={"kind": "personal_button"})
    try:
        await sink.deliver(event)  # delivered: the centre has it (and holds it)
        assert alarm in sink.status()["holding"]
        for _ in range(3):
            await clock.advance(10)
            await asyncio.sleep(0.2)
        await wait_for(lambda: alarm in sink.given_up)
    finally:
        await sink.aclose()
    assert acks == []  # nobody upstream took it: Navet's own operators still must
    updates = [s.event for s in centre.store.query_events("larmcentral")
               if s.event.type == "alarm.updated"]
    assert any(getattr(u.data, "code", None) == "scaip:RE" for u in updates)


def _types(gw: Gateway, tenant: str, type_: str) -> list[Any]:
    return [s.event for s in gw.store.query_events(tenant) if s.event.type == type_]


async def test_a_folded_press_goes_upstream_as_a_repeat_and_both_refs_wait_for_the_centre(
    navet: Gateway, centre: Gateway, clock: FakeClock,
) -> None:
    """Issue 12 items 1 and 2 across two hops: unit -> Navet -> upstream SCAIP centre.

    The second press is folded in Navet and goes upstream in a session of its own
    (a repeat of the same alarm code, which the centre folds in turn); nothing ever
    cancels it upstream. Both of the unit's refs are held until the centre's operator
    takes the alarm; then both are answered snu=0.
    """
    unit = ScaipUnit("unit7", "s3cret", ("127.0.0.1", _port(navet, "scaip-vasteras", "udp")),
                     clock=clock, hold_max_s=600)
    await unit.start()
    sink = navet.sinks["to-centre"]
    assert isinstance(sink, ScaipForwardSink)
    try:
        assert await unit.register() == 200
        first = asyncio.create_task(unit.alarm("fall"))
        await wait_for(lambda: unit.holds >= 1)
        second = asyncio.create_task(unit.alarm("fall"))
        await wait_for(lambda: unit.holds >= 2)
        await wait_for(lambda: len(_types(navet, "vasteras", "alarm.updated")) == 1)  # the fold
        ours, again = _raised(navet, "vasteras")
        await wait_for(lambda: len(_raised(centre, "larmcentral")) == 2)  # both went upstream
        await wait_for(lambda: {ours.alarm, again.alarm} <= set(sink.status()["holding"]))

        for _ in range(2):  # the centre holds; both refs of the unit are held here
            await clock.advance(10)
            await asyncio.sleep(0.3)
        assert not first.done() and not second.done()
        assert {m.snu for m in unit.received} == {4}
        assert _types(navet, "vasteras", "alarm.cancelled") == []
        assert _types(centre, "larmcentral", "alarm.cancelled") == []  # no cancel upstream
        (upstream,) = await centre.alarms.open_alarms("larmcentral")  # folded there too
        assert upstream.repeats == 1

        await centre.alarms.acknowledge("larmcentral", upstream.id,
                                        Actor(kind="operator", id="op-centre"))
        await advance_until(clock, lambda: ours.alarm in sink.taken or again.alarm in sink.taken)
        rec = await navet.alarms.alarm("vasteras", again.alarm)  # the fold belongs to ours
        assert rec is not None and rec.id == ours.alarm and str(rec.state) == "acknowledged"
        await advance_until(clock, lambda: first.done() and second.done())
        assert (first.result().snu, second.result().snu) == (0, 0)
        await wait_for(lambda: not sink.status()["holding"])  # nobody polls upstream any more
        assert len(_types(navet, "vasteras", "alarm.acknowledged")) == 1
        assert _types(centre, "larmcentral", "alarm.cancelled") == []
    finally:
        await unit.stop()


async def test_the_residents_cancel_goes_up_in_the_session_of_each_folded_repeat(
    clock: FakeClock, centre: Gateway,
) -> None:
    from types import SimpleNamespace

    from gateway import make_event

    sink = ScaipForwardSink({"host": "127.0.0.1",
                             "port": _port(centre, "scaip-larmcentral", "udp"),
                             "user": "navet", "password": "upstream-secret",
                             "hold_interval_s": 10},
                            SimpleNamespace(clock=clock, alarms=None,
                                            outbound=loopback_outbound()))
    first, again = "scaip:unit7:41", "scaip:unit7:42"

    def event(type_: str, alarm: str, ref: str, data: dict[str, Any]) -> Any:
        return make_event(type_, tenant="vasteras", time=clock.now(), alarm=alarm, data=data,
                          source={"adapter": "scaip", "protocol": "scaip", "ref": ref})

    try:
        await sink.deliver(event("alarm.raised", first, "41", {"kind": "personal_button"}))
        await sink.deliver(event("alarm.raised", again, "42", {"kind": "personal_button"}))
        assert set(sink.status()["holding"]) == {first, again}
        await sink.deliver(event("alarm.updated", first, "fold", {
            "text": "raised again", "folded": {"alarm": again, "ref": "42", "repeats": 1}}))
        assert set(sink.status()["holding"]) == {first, again}  # the fold sends nothing
        assert _types(centre, "larmcentral", "alarm.cancelled") == []
        await sink.deliver(event("alarm.cancelled", first, "43", {"reason": "resident"}))
        assert sink.status()["holding"] == []  # nothing left polling upstream
    finally:
        await sink.aclose()
    cancels = _types(centre, "larmcentral", "alarm.cancelled")
    assert sorted(c.source.ref for c in cancels) == sorted([mrq_ref(first), mrq_ref(again)])
    assert await centre.alarms.open_alarms("larmcentral") == []
