"""What a Sängvakt hub publishes: for tests and the conformance kit (deterministic)."""

from __future__ import annotations

START = 1_767_236_400  # 2026-01-01T03:00:00Z


def line(seq: int, code: str, arg: str | int | None = None) -> str:
    return f"{seq};{START - 60 + seq};{code}" + ("" if arg is None else f";{arg}")


def frames(count: int) -> list[dict[str, str]]:
    """A night on hub ``h1``: sensors s1-s4 beating, reporting batteries, beds left."""
    made = []
    for n in range(count):
        sensor = f"s{n % 4 + 1}"
        kind = n % 5
        if kind in (0, 1):
            body = line(n, "HB", 300)
        elif kind == 2:
            body = line(n, "BAT", 100 - n % 90)
        else:
            body = line(n, "OUT", n % 2 + 1)
        made.append({"address": f"sangvakt/h1/{sensor}/evt", "transport": "mqtt",
                     "payload": body})
    return made
