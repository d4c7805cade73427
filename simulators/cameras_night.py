"""One night of camera life, the same whichever vendor's cameras live it.

Both camera simulators (the Ugglan cloud and the Vaktaren units) put this
script on the runner, so the same seed gives the same night through either
vendor: privacy mode at the start (camera covered, nothing to see), a
heartbeat every ``heartbeat_s``, and for some cameras (seeded) a network
fault in the small hours that clears ten minutes later. Sessions are not part
of it: they happen when the night patrol (:mod:`simulators.cameras_patrol`)
or a test asks Navet for a check.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

from .runner import ScenarioRunner

DAY = 24 * 3600.0
FAULT_SHARE = 0.25


class CameraFleet(Protocol):
    async def heartbeat(self, camera: str) -> None: ...

    async def privacy_idle(self, camera: str) -> None: ...

    async def fault(self, camera: str, active: bool) -> None: ...


class CameraNight:
    def __init__(self, fleet: CameraFleet, cameras: list[str], *, seed: int = 0,
                 heartbeat_s: float = 600.0, name: str = "cameras",
                 faults: bool | None = None) -> None:
        self.fleet = fleet
        self.cameras = cameras
        self.seed = seed
        self.heartbeat_s = heartbeat_s
        self.name = name
        self.faults = faults

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        start = runner.now
        for i, camera in enumerate(self.cameras):
            rng = random.Random(f"{self.seed}:camera:{i}")  # by position: same for any vendor
            runner.at(start, _call(self.fleet.privacy_idle, camera), f"{self.name} {camera} idle")
            runner.every(self.heartbeat_s, _call(self.fleet.heartbeat, camera),
                         start=start + 5.0 * (i + 1), name=f"{self.name} {camera} heartbeat")
            faulty = rng.random() < FAULT_SHARE if self.faults is None else self.faults
            for day in range(days):
                at = start + day * DAY + 5 * 3600 + rng.uniform(0, 3600)
                if faulty:
                    runner.at(at, _call(self.fleet.fault, camera, True),
                              f"{self.name} {camera} fault")
                    runner.at(at + 600, _call(self.fleet.fault, camera, False),
                              f"{self.name} {camera} fault cleared")


def _call(fn: Any, *args: Any) -> Any:
    async def action() -> None:
        await fn(*args)

    return action
