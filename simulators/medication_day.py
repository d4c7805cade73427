"""What happens at a medication dispenser, independent of how its vendor reports it.

A :class:`DoseScript` is a list of :class:`Happening` s at scenario times: a dose
falls due and is dispensed, the resident takes it (or takes it late, or not at
all and the dispenser reports it missed), the stock runs low, the battery runs
down, the mechanism jams and is cleared, the dispenser checks in. The vendor
simulators (:mod:`simulators.medication_cloud`, :mod:`simulators.medication_mqtt`)
translate the same script into their own wire format, so one script run through
both must give the same normalised events in Navet.

Scripts are seeded: the same seed and name give the same script. The first
dispenser of each family (``misses_first``) misses its first dose, so the demo
always shows a missed dose escalating.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DAY = 24 * 3600.0
CHECKIN_S = 900
VENDOR_WINDOW_S = 15 * 60
"""The dispenser's own window: it reports a dose missed this long after its time."""

DOSES: tuple[tuple[float, str], ...] = (
    (10.0, "Kväll"), (11 * 3600.0, "Morgon"), (15 * 3600.0, "Lunch"), (20 * 3600.0, "Eftermiddag"),
)
"""(offset into the scenario day, label): the day starts about nine in the evening."""


@dataclass(frozen=True)
class Happening:
    at: float
    what: str  # due dispensed taken missed refill fault battery checkin
    pouch: str | None = None
    label: str | None = None
    remaining: int | None = None
    fault: str | None = None  # normalised: jam mains network hatch empty
    active: bool | None = None
    level: int | None = None


class DoseScript:
    """The happenings at one dispenser over some days."""

    def __init__(self, name: str, *, seed: int = 0, misses_first: bool = False,
                 stock: int | None = None, fault_share: float = 0.25) -> None:
        self.name = name
        self.rng = random.Random(f"{seed}:{name}:doses")
        self.misses_first = misses_first
        self.stock = stock if stock is not None else self.rng.randint(6, 28)
        self.battery = self.rng.randint(30, 100)
        self.fault_share = fault_share

    def happenings(self, start: float = 0.0, *, days: int = 1) -> list[Happening]:
        out: list[Happening] = []
        serial = 0
        for day in range(days):
            t0 = start + day * DAY
            for offset, label in DOSES:
                serial += 1
                at = t0 + offset
                pouch = f"{self.name}-{day:03d}-{serial:04d}"
                out += [Happening(at, "due", pouch, label),
                        Happening(at + 2, "dispensed", pouch, label)]
                roll = self.rng.random()
                if (self.misses_first and serial == 1) or roll < 0.08:
                    out.append(Happening(at + VENDOR_WINDOW_S, "missed", pouch, label))
                elif roll < 0.16:
                    out.append(Happening(at + VENDOR_WINDOW_S + self.rng.randint(300, 1800),
                                         "taken", pouch, label))  # late
                else:
                    out.append(Happening(at + self.rng.randint(60, 1500), "taken", pouch,
                                         label))
                self.stock -= 1
                if 0 <= self.stock <= 3:
                    out.append(Happening(at + 5, "refill", remaining=self.stock))
                if self.stock <= 0:
                    self.stock = 28  # the pharmacy's delivery is loaded the same day
            for hour in (3, 9, 15, 21):
                self.battery = max(5, self.battery - self.rng.randint(0, 4))
                out.append(Happening(t0 + hour * 3600 + 7, "battery", level=self.battery))
            if self.rng.random() < self.fault_share:
                jam = t0 + self.rng.randint(2, 8) * 3600 + 11
                out += [Happening(jam, "fault", fault="jam", active=True),
                        Happening(jam + 600, "fault", fault="jam", active=False)]
            checks = int(DAY // CHECKIN_S)
            out += [Happening(t0 + 30 + i * CHECKIN_S, "checkin") for i in range(checks)]
        return sorted(out, key=lambda h: h.at)
