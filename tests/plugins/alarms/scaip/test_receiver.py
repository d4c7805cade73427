"""The receiver inside a running gateway, driven by the simulated unit over real SIP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from gateway import FakeClock, make_event
from gateway.core.gateway import Gateway
from gateway.testing import wait_until
from simulators.scaip import Dialect, ScaipUnit

from .conftest import server


@pytest.fixture
async def units(gateway: Gateway, clock: FakeClock) -> AsyncIterator[Callable[..., object]]:
    started: list[ScaipUnit] = []

    async def make(unit: str = "unit7", transport: str = "udp", password: str | None = "s3cret",
                   **kw: object) -> ScaipUnit:
        sim = ScaipUnit(unit, password, server(gateway, transport), clock=clock,
                        transport=transport, **kw)  # type: ignore[arg-type]
        await sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()


def events(gateway: Gateway, type_: str) -> list:
    return [s.event for s in gateway.store.query_events("vasteras", types=[type_])] \
        if _query_takes_types(gateway) else \
        [s.event for s in gateway.store.query_events("vasteras") if s.event.type == type_]


def _query_takes_types(gateway: Gateway) -> bool:
    import inspect

    return "types" in inspect.signature(gateway.store.query_events).parameters


async def acknowledge(gateway: Gateway, clock: FakeClock, alarm: str) -> None:
    await gateway.emit([make_event(
        "alarm.acknowledged", tenant="vasteras", time=clock.now(),
        source={"adapter": "navet", "protocol": "api", "ref": f"ack-{alarm}"},
        alarm=alarm, data={"by": {"kind": "operator", "id": "op-1"}})])


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_register_with_digest_and_wrong_password_is_refused(
    units: Callable[..., object], transport: str
) -> None:
    good = await units(transport=transport)  # type: ignore[misc]
    assert await good.register() == 200
    bad = await units(transport=transport, password="wrong")  # type: ignore[misc]
    assert await bad.register() == 401
    stranger = await units("nobody", transport=transport)  # type: ignore[misc]
    assert await stranger.register() == 404


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_alarm_is_held_until_acknowledged_then_answered_ok(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object], transport: str
) -> None:
    unit = await units(transport=transport)  # type: ignore[misc]
    assert await unit.register() == 200
    session = asyncio.create_task(unit.alarm("personal_button"))
    await wait_until(lambda: unit.holds >= 1 or session.done())
    assert not session.done()
    (raised,) = events(gateway, "alarm.raised")
    assert raised.data.kind == "personal_button" and raised.priority == "critical"
    assert raised.device.id == "scaip:unit7"

    await clock.advance(10)  # the unit polls again: still held, nothing new stored
    await wait_until(lambda: unit.holds >= 2)
    assert len(events(gateway, "alarm.raised")) == 1

    await acknowledge(gateway, clock, raised.alarm)
    await clock.advance(10)
    final = await asyncio.wait_for(session, 10)
    assert final.snu == 0
    assert [m.snu for m in unit.received] == [4, 4, 0]
    assert len(events(gateway, "alarm.raised")) == 1


async def test_unit_that_is_never_answered_aborts_with_re(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object]
) -> None:
    unit = await units(hold_max_s=30, hold_interval_s=10)  # type: ignore[misc]
    await unit.register()
    session = asyncio.create_task(unit.alarm("fall"))
    for _ in range(4):
        await wait_until(lambda: session.done() or len(unit.received) > unit.holds - 1)
        await clock.advance(10)
    last = await asyncio.wait_for(session, 10)
    assert last.snu == 4
    updates = events(gateway, "alarm.updated")
    assert [u.data.code for u in updates] == ["scaip:RE"]
    assert updates[0].alarm == events(gateway, "alarm.raised")[0].alarm


async def test_heartbeat_with_interval_control_and_battery_mains_cancel(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object]
) -> None:
    unit = await units("unit9")  # type: ignore[misc]
    await unit.register()
    mrs = await unit.heartbeat(offer_hbi=True)
    assert (mrs.snu, mrs.hbi) == (0, 60)
    (hb,) = events(gateway, "device.heartbeat")
    assert hb.data.interval_s == 3600
    assert (await unit.heartbeat()).hbi is None

    assert (await unit.event("low_battery")).snu == 0  # technical: not held by default
    assert (await unit.event("mains_lost")).snu == 0
    kinds = sorted(e.data.kind for e in events(gateway, "alarm.raised"))
    assert kinds == ["technical.low_battery", "technical.mains_lost"]
    assert events(gateway, "device.battery")[0].data.low is True
    assert events(gateway, "device.fault")[0].data.kind == "mains_lost"

    mains_alarm = next(e for e in events(gateway, "alarm.raised")
                       if e.data.kind == "technical.mains_lost")
    assert (await unit.event("cancel")).snu == 0
    (cancelled,) = events(gateway, "alarm.cancelled")
    assert cancelled.alarm == mains_alarm.alarm and cancelled.data.reason == "resident"


async def test_alarm_cancelled_by_the_resident_ends_the_hold(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object]
) -> None:
    unit = await units()  # type: ignore[misc]
    await unit.register()
    session = asyncio.create_task(unit.alarm("personal_button"))
    await wait_until(lambda: unit.holds >= 1)
    assert (await unit.event("cancel")).snu == 0  # pressed while the unit polls
    await clock.advance(10)
    assert (await asyncio.wait_for(session, 10)).snu == 0
    assert len(events(gateway, "alarm.cancelled")) == 1


async def test_vendor_dialect_no_register_mrs_in_200_and_odd_xml(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object]
) -> None:
    dialect = Dialect(leading_spaces=True, unpadded_codes=True, register=False,
                      reuse_via_branch=True, alphanumeric_refs=True, namespace=True)
    unit = await units("unit8", dialect=dialect, mrs_in_200=True)  # type: ignore[misc]
    assert (await unit.heartbeat()).snu == 0
    session = asyncio.create_task(unit.alarm("bed_exit", lco=12))
    await wait_until(lambda: unit.holds >= 1)
    (raised,) = events(gateway, "alarm.raised")
    assert raised.data.kind == "passive.bed_exit" and raised.location.text == "bedroom"
    assert not raised.source.ref.isdigit()
    await acknowledge(gateway, clock, raised.alarm)
    await clock.advance(10)
    assert (await asyncio.wait_for(session, 10)).snu == 0


async def test_reused_ref_of_a_finished_alarm_is_a_new_alarm(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object]
) -> None:
    unit = await units()  # type: ignore[misc]
    await unit.register()
    body = unit.mrq("42", dty=3, stc=10)
    assert (await unit.send(body, "42")).snu == 4
    (first,) = events(gateway, "alarm.raised")
    await gateway.emit([make_event(
        "alarm.closed", tenant="vasteras", time=clock.now(),
        source={"adapter": "navet", "protocol": "api", "ref": "close-1"}, alarm=first.alarm,
        data={"by": {"kind": "staff", "id": "s-1"}, "outcome": "assistance_given"})])
    assert (await unit.send(body, "42")).snu == 0  # within the session: the same alarm
    assert len(events(gateway, "alarm.raised")) == 1
    await clock.advance(3600)  # the session is long over; the unit restarted, counts anew
    assert (await unit.send(body, "42")).snu == 4  # a new alarm, held again
    second = [e for e in events(gateway, "alarm.raised") if e.alarm != first.alarm]
    assert len(second) == 1 and second[0].alarm.startswith(first.alarm + ":")


async def test_wrong_content_type_and_bad_xml(
    gateway: Gateway, units: Callable[..., object]
) -> None:
    unit = await units()  # type: ignore[misc]
    await unit.register()
    resp = await unit.request("MESSAGE", b"hello", extra=("Content-Type: text/plain",))
    assert resp.status == 415
    bad = b"<mrq><ref>77</ref><cid>abc</cid><dty>3</dty></mrq>"
    mrs = await unit.send(bad, "77")
    assert mrs.snu == 3
    assert gateway.store.count_dead_letters() == 1


async def test_a_unit_password_rotates_without_downtime(tmp_path: object, clock: FakeClock) -> None:
    """With next_password set, a unit with either password registers; a third is refused."""
    from pathlib import Path

    from gateway.core.settings import Settings
    from gateway.transports.memory import MemoryBroker

    settings = Settings(data_dir=Path(str(tmp_path)), mqtt={"mode": "memory"}, adapters=[{
        "adapter": "scaip", "tenant": "vasteras", "settings": {
            "host": "127.0.0.1", "port": 0,
            "units": {"unit7": {"password": "old-pass", "next_password": "new-pass"}}}}])
    gw = Gateway(settings, clock=clock, mqtt=MemoryBroker().client("navet"))
    await gw.start()
    try:
        answers = {}
        for pw in ("old-pass", "new-pass", "wrong-pass"):
            sim = ScaipUnit("unit7", pw, server(gw), clock=clock)
            await sim.start()
            try:
                answers[pw] = await sim.register()
            finally:
                await sim.stop()
    finally:
        await gw.stop()
    assert answers == {"old-pass": 200, "new-pass": 200, "wrong-pass": 401}


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_second_alarm_folded_into_the_open_one_is_held_until_a_person_takes_it(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object], transport: str
) -> None:
    """Issue 12 item 1: the unit presses again (a new ref) while its first alarm is held.

    Navet folds the second press into the open alarm, and both refs stay on HOLD until a
    person acknowledges that alarm; then both are answered snu=0 and only the first asks
    for the voice call (the unit would otherwise place two calls).
    """
    unit = await units("unit10", transport=transport)  # type: ignore[misc]
    assert await unit.register() == 200
    first = asyncio.create_task(unit.alarm("personal_button"))
    await wait_until(lambda: unit.holds >= 1)
    second = asyncio.create_task(unit.alarm("personal_button"))
    await wait_until(lambda: unit.holds >= 2)
    await wait_until(lambda: len(events(gateway, "alarm.updated")) == 1)  # the fold
    one, two = events(gateway, "alarm.raised")
    assert one.alarm != two.alarm and one.source.ref != two.source.ref

    for _ in range(3):  # poll after poll, nobody has taken the alarm: both refs stay held
        polled = len(unit.received)
        await clock.advance(10)
        await wait_until(lambda n=polled: len(unit.received) >= n + 2 or second.done())  # type: ignore[misc]
        assert not second.done() and not first.done()
    assert {m.snu for m in unit.received} == {4}
    assert events(gateway, "alarm.cancelled") == []  # the second press was nobody's cancel
    (fold,) = [e for e in events(gateway, "alarm.updated") if e.data.folded is not None]
    assert fold.alarm == one.alarm and fold.data.folded.alarm == two.alarm
    assert fold.data.folded.ref == two.source.ref and fold.data.folded.repeats == 1
    (view,) = await gateway.alarms.open_alarms("vasteras")  # operators see one alarm
    assert view.id == one.alarm and view.repeats == 1
    assert await gateway.alarms.state("vasteras", two.alarm) == "raised"

    await acknowledge(gateway, clock, one.alarm)
    await clock.advance(10)
    done_first, done_second = await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert (done_first.snu, done_second.snu) == (0, 0)
    assert done_first.ref == one.source.ref and done_first.mre == 1  # the voice call
    assert done_second.ref == two.source.ref and done_second.mre is None


async def test_a_message_body_is_parsed_once(
    gateway: Gateway, clock: FakeClock, units: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The user agent parses the <mrq>; the adapter's decode takes that, not a second parse."""
    from plugins.alarms.scaip import adapter, ua, xml

    parsed: dict[str, int] = {"ua": 0, "decode": 0}
    real = xml.parse_mrq

    def counted(where: str) -> Callable[..., object]:
        def parse(body: bytes, **kw: object) -> object:
            parsed[where] += 1
            return real(body, **kw)  # type: ignore[arg-type]
        return parse

    monkeypatch.setattr(ua, "parse_mrq", counted("ua"))
    monkeypatch.setattr(adapter, "parse_mrq", counted("decode"))
    unit = await units()  # type: ignore[misc]
    assert await unit.register() == 200
    session = asyncio.create_task(unit.alarm("personal_button"))
    await wait_until(lambda: unit.holds >= 1 or session.done())
    (raised,) = events(gateway, "alarm.raised")
    assert raised.data.kind == "personal_button"
    await acknowledge(gateway, clock, raised.alarm)
    await clock.advance(10)
    assert (await asyncio.wait_for(session, 10)).snu == 0
    assert parsed["ua"] >= 2 and parsed["decode"] == 0, parsed  # once per MESSAGE
