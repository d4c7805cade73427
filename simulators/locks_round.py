"""A morning home-care round, as the staff's phone app drives it through Navet's staff API.

Each simulated morning every home-care staff member asks Navet for their
visits (``GET /api/v1/staff/me/visits``), opens the door of each resident
whose visit is on now (``POST /api/v1/staff/doors/{door}/unlock``), and locks
it again when leaving. Whether a door opens is Navet's policy, on Navet's
clock: the round only asks, as a person with a phone would. One colleague
also tries a door that is not theirs, which Navet refuses (``lock.denied``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from gateway import Clock

from .runner import ScenarioRunner

log = logging.getLogger(__name__)


class HomeCareRound:
    family = "round"

    def __init__(self, navet_url: str, tenant: str, clock: Clock, *, seed: int = 0,
                 name: str = "round", stay_s: float = 600.0,
                 headers: Callable[[str | None], dict[str, str]] | None = None) -> None:
        self.url = navet_url.rstrip("/")
        self.tenant = tenant
        self.clock = clock
        self.name = name
        self.stay_s = stay_s
        self.headers = headers  # authenticates the staff when the API is not open
        self.rng = random.Random(f"{seed}:{name}")
        self.requests = 0
        self.opened = 0
        self.refused = 0
        self._runner: ScenarioRunner | None = None

    async def _call(self, method: str, path: str, staff: str | None = None) -> httpx.Response:
        if self.headers is not None:
            headers = self.headers(staff)
        else:
            headers = {"X-Navet-Actor": staff} if staff else {}
        async with httpx.AsyncClient(base_url=self.url, timeout=10.0) as client:
            self.requests += 1
            return await client.request(method, path, params={"tenant": self.tenant},
                                        headers=headers)

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        self._runner = runner
        start = runner.now
        for day in range(days):
            # first thing, then each morning (the flats' script starts about 21:00)
            for at in (start + 30.0 + day * 86_400.0, start + 10.5 * 3600 + day * 86_400.0):
                runner.at(at, self._round(runner), f"{self.name} round")

    def _round(self, runner: ScenarioRunner) -> Any:
        async def act() -> None:
            try:
                resp = await self._call("GET", "/api/v1/staff")
                staff = [s["id"] for s in resp.json() if "home_care" in s.get("roles", [])]
            except (httpx.HTTPError, ValueError) as err:
                log.warning("round %s: Navet not reachable at %s: %s", self.name, self.url, err)
                return
            others: list[tuple[str, str]] = []
            for person in staff:
                resp = await self._call("GET", "/api/v1/staff/me/visits", person)
                if resp.status_code != 200:
                    continue
                for visit in resp.json()["visits"]:
                    for door in visit["doors"]:
                        others.append((person, door))
                        if visit["now"]:
                            runner.after(self.rng.uniform(0, 300), self._visit(person, door),
                                         f"{self.name} {person} visits {door}")
            if len(staff) > 1 and others:
                person, door = others[0]
                intruder = next(s for s in staff if s != person)
                runner.after(self.rng.uniform(300, 900), self._door(intruder, door, "unlock"),
                             f"{self.name} {intruder} tries {door}")
        return act

    def _visit(self, person: str, door: str) -> Any:
        """Open the door, stay ``stay_s`` of scenario time, lock it when leaving."""
        async def act() -> None:
            await self._door(person, door, "unlock")()
            if self._runner is not None:
                self._runner.after(self.stay_s, self._door(person, door, "lock"),
                                   f"{self.name} {person} leaves {door}")
        return act

    def _door(self, person: str, door: str, verb: str) -> Any:
        async def act() -> None:
            resp = await self._call("POST", f"/api/v1/staff/doors/{door}/{verb}", person)
            if resp.status_code == 202:
                self.opened += verb == "unlock"
            else:
                self.refused += 1
                log.info("round %s: %s %s %s: %s", self.name, person, verb, door,
                         resp.text[:200])
        return act
