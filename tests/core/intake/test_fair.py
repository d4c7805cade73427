"""Per-source datagram queues, served round-robin, bounded."""

from __future__ import annotations

from gateway.core.intake import FairQueue


def queue(per_source: int = 4, total: int = 8) -> tuple[FairQueue[str], list[tuple[str, str]]]:
    drops: list[tuple[str, str]] = []
    return FairQueue(per_source, total, on_drop=lambda s, r, i: drops.append((s, r))), drops


async def drain(q: FairQueue[str]) -> list[str]:
    return [(await q.get())[1] for _ in range(len(q))]


async def test_a_flooding_source_waits_its_turn_behind_nobody_else() -> None:
    q, drops = queue(per_source=100, total=1000)
    for n in range(50):
        q.put("flood", f"f{n}")
    q.put("panel", "alarm")
    served = await drain(q)
    assert served.index("alarm") == 1  # one datagram of the flooder, then the panel
    assert drops == []


async def test_each_source_keeps_its_own_order() -> None:
    q, _ = queue()
    for item in ("a1", "a2", "a3"):
        q.put("a", item)
    for item in ("b1", "b2"):
        q.put("b", item)
    assert await drain(q) == ["a1", "b1", "a2", "b2", "a3"]


async def test_a_full_source_queue_drops_that_sources_newcomer() -> None:
    q, drops = queue(per_source=2, total=100)
    assert [q.put("flood", str(n)) for n in range(4)] == [True, True, False, False]
    assert drops == [("flood", "udp_source_queue_full")] * 2
    assert q.put("panel", "alarm")


async def test_a_full_queue_makes_room_from_the_longest_queue_not_from_the_newcomer() -> None:
    q, drops = queue(per_source=6, total=6)
    for n in range(6):
        q.put("flood", f"f{n}")
    assert q.put("panel", "alarm")
    assert drops == [("flood", "udp_queue_full")]
    assert await drain(q) == ["f1", "alarm", "f2", "f3", "f4", "f5"]
    for n in range(6):
        q.put("flood", f"g{n}")
    assert not q.put("flood", "more")  # the newcomer's own queue is the longest


async def test_proven_sources_alternate_with_the_rest() -> None:
    q, _ = queue(per_source=10, total=100)
    for n in range(3):
        q.put(f"new{n}", f"n{n}")
    q.put("panel", "p1", proven=True)
    q.put("panel", "p2", proven=True)
    assert await drain(q) == ["p1", "n0", "p2", "n1", "n2"]
