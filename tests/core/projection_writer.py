"""A process that writes alarm events as fast as it can, to be SIGKILLed mid-batch.

``python -m tests.core.projection_writer <database>``: raises, repeats folded
into an open alarm (the fold in the same append, as rules derive it),
acknowledgements, closes and restorals, from many concurrent tasks so that the
store's writer commits batches of several jobs. Prints ``READY`` once open.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from gateway import make_event
from gateway.core.store import make_store

TENANT = "crash"


def _event(etype: str, n: int, alarm: str, unit: str, **data: object) -> object:
    return make_event(
        etype, tenant=TENANT, time=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
        source={"adapter": "scaip", "protocol": "scaip", "ref": f"{alarm}-{etype}-{n}"},
        device={"id": unit, "kind": "social_alarm"}, alarm=alarm,
        priority="critical" if etype == "alarm.raised" else None, data=data)


async def lane(store: object, k: int) -> None:
    unit = f"scaip:unit-{k}"
    n = 0
    while True:
        first, second = f"a-{k}-{n}", f"a-{k}-{n + 1}"
        steps = [
            [_event("alarm.raised", n, first, unit, kind="personal_button")],
            [_event("alarm.raised", n + 1, second, unit, kind="personal_button"),
             _event("alarm.updated", n + 1, first, unit, text="again",
                    folded={"alarm": second, "ref": "r", "repeats": 1})],
            [_event("alarm.cancelled", n + 2, second, unit, reason="resident")],
            [_event("alarm.acknowledged", n + 3, first, unit,
                    by={"kind": "operator", "id": "op"})],
            [_event("alarm.closed", n + 4, first, unit, by={"kind": "operator", "id": "op"},
                    outcome="assistance_given")],
        ]
        for events in steps:
            await store.append(events)  # type: ignore[attr-defined]
        n += 5


async def main(database: str) -> None:
    store = make_store(database)
    store.open()
    print("READY", flush=True)
    await asyncio.gather(*(lane(store, k) for k in range(16)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
