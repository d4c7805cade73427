"""Connection slots: limits per source until proven, and who makes room when full."""

from __future__ import annotations

from gateway.core.intake import Admission, Connection


class Slots:
    def __init__(self, max_connections: int = 4, per_source: int = 2) -> None:
        self.evicted: list[tuple[str, str]] = []
        self.admission = Admission(max_connections, per_source,
                                   on_evict=lambda c, r: self.evicted.append((c.host, r)))

    def open(self, host: str) -> tuple[Connection, str | None]:
        conn = Connection(self.admission, (host, 1000), (host, 1000), lambda: None,
                          deadline=0.0)
        return conn, self.admission.admit(conn)


def test_a_source_past_its_limit_recycles_its_own_oldest_unproven_connection() -> None:
    slots = Slots(max_connections=10, per_source=2)
    first, _ = slots.open("10.0.0.2")
    second, _ = slots.open("10.0.0.2")
    _third, refused = slots.open("10.0.0.2")
    assert refused is None
    assert first.closed_because == "evicted_source_limit" and second.closed_because is None
    assert slots.evicted == [("10.0.0.2", "evicted_source_limit")]
    assert slots.admission.open == 2


def test_proven_connections_do_not_count_against_the_source_and_are_never_evicted() -> None:
    slots = Slots(max_connections=10, per_source=2)
    diallers = [slots.open("100.64.0.1")[0] for _ in range(2)]  # one carrier NAT address
    for conn in diallers:
        conn.prove()
    for _ in range(5):
        slots.open("100.64.0.1")
    assert all(c.closed_because is None for c in diallers)
    assert slots.admission.open == 4 and slots.admission.unproven == 2


def test_a_full_listener_closes_the_oldest_unproven_connection_of_the_busiest_source() -> None:
    slots = Slots(max_connections=4, per_source=4)
    a, _ = slots.open("10.0.0.2")
    slots.open("10.0.0.2")
    b, _ = slots.open("10.0.0.3")
    b.prove()
    slots.open("10.0.0.4")
    _genuine, refused = slots.open("10.0.0.1")
    assert refused is None and a.closed_because == "evicted_listener_full"
    assert slots.evicted == [("10.0.0.2", "evicted_listener_full")]
    assert slots.admission.open == 4


def test_when_every_slot_is_proven_the_newcomer_is_refused() -> None:
    slots = Slots(max_connections=2, per_source=2)
    for _ in range(2):
        slots.open("10.0.0.1")[0].prove()
    _newcomer, refused = slots.open("10.0.0.2")
    assert refused == "listener_full" and slots.admission.open == 2


def test_release_and_prove_after_eviction_are_harmless() -> None:
    slots = Slots(max_connections=10, per_source=1)
    old, _ = slots.open("10.0.0.2")
    slots.open("10.0.0.2")
    old.prove()  # evicted before its frame was handled: stays out
    old.release()
    assert not old.proven and slots.admission.open == 1


async def test_a_read_that_started_unproven_gets_the_idle_timeout_once_proven() -> None:
    import asyncio

    import pytest

    slots = Slots()
    loop = asyncio.get_running_loop()
    late = Connection(slots.admission, ("10.0.0.2", 1), ("10.0.0.2", 1), lambda: None,
                      deadline=loop.time() - 1)
    slots.admission.admit(late)
    with pytest.raises(TimeoutError):  # past its deadline: no wait at all
        await late.read(asyncio.StreamReader(), 10, idle_s=30)

    conn = Connection(slots.admission, ("10.0.0.1", 1), ("10.0.0.1", 1), lambda: None,
                      deadline=loop.time() + 0.05)
    slots.admission.admit(conn)
    reader = asyncio.StreamReader()
    loop.call_soon(conn.prove)  # its request authenticates while the read waits
    loop.call_later(0.2, reader.feed_data, b"next request")  # after the old deadline
    assert await conn.read(reader, 100, idle_s=30) == b"next request"
