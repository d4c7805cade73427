"""The night patrol's staff app: camera checks through Navet's staff API, as staff make them.

Each round the patrol checks its residents one after the other: it asks Navet
to start a check (``POST /api/v1/supervision/checks``), and when allowed
"looks" for a while, records what it saw (mostly asleep; now and then awake,
not in bed, needs a visit; rarely needs help) and ends the check; a refusal
(outside the window, a withdrawn consent ...) is simply counted, as a real app
would show it and move on. The first round starts two minutes into the
scenario, then one every ``round_s``. Each check runs as a background task,
because scenario actions must return quickly.

The patrol needs Navet's base URL: ``navet_url`` (a callable, so it can be
learnt after the gateway started, e.g. from the running adapter).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from gateway import Clock

from .runner import ScenarioRunner

log = logging.getLogger(__name__)

DAY = 24 * 3600.0
FINDINGS = [("asleep", 70), ("awake_calm", 12), ("not_in_bed", 8), ("needs_visit", 7),
            ("needs_alarm", 3)]


class NightPatrol:
    family = "cameras-patrol"

    def __init__(self, clock: Clock, navet_url: Callable[[], str | None], *, tenant: str,
                 staff: str, residents: list[str], name: str = "patrol", seed: int = 0,
                 first_round_s: float = 120.0, round_s: float = 3 * 3600.0,
                 look_s: tuple[float, float] = (15.0, 45.0),
                 client: httpx.AsyncClient | None = None,
                 headers: Callable[[str | None], dict[str, str]] | None = None) -> None:
        self.clock = clock
        self.navet_url = navet_url
        self.tenant = tenant
        self.staff = staff
        self.residents = residents
        self.name = name
        self.rng = random.Random(f"{seed}:{name}")
        self.first_round_s = first_round_s
        self.round_s = round_s
        self.look_s = look_s
        self.published = 0  # staff API calls made
        self.started = 0
        self.refused: dict[str, int] = {}
        self.findings: dict[str, int] = {}
        self._client = client
        self.headers = headers  # authenticates the staff when the API is not open
        self._tasks: set[asyncio.Task[None]] = set()
        self.speed = 1.0

    def schedule(self, runner: ScenarioRunner, *, days: int = 1) -> None:
        self.speed = runner.speed  # a look lasts scenario seconds, like everything else
        rounds = max(1, int(days * DAY // self.round_s))
        for r in range(rounds):
            t0 = runner.now + self.first_round_s + r * self.round_s
            for i, resident in enumerate(self.residents):
                runner.at(t0 + 90.0 * i, self._spawn(resident), f"{self.name} check {resident}")

    def _spawn(self, resident: str) -> Callable[[], Any]:
        async def action() -> None:
            task = asyncio.create_task(self.check(resident), name=f"{self.name}-{resident}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return action

    async def check(self, resident: str) -> str:
        """One check of ``resident``; returns the finding, or ``refused:<code>``."""
        base = self.navet_url()
        if not base:
            log.warning("%s: Navet's address is unknown; no check of %s", self.name, resident)
            return "no-navet"
        client = self._client or httpx.AsyncClient(timeout=10)
        headers = self.headers(self.staff) if self.headers else {"x-navet-actor": self.staff}
        params = {"tenant": self.tenant}
        api = f"{base.rstrip('/')}/api/v1/supervision/checks"
        try:
            resp = await client.post(api, json={"resident": resident}, headers=headers,
                                     params=params)
            self.published += 1
            if resp.status_code == 403:
                code = str(resp.json().get("detail", {}).get("code", "refused"))
                self.refused[code] = self.refused.get(code, 0) + 1
                return f"refused:{code}"
            if resp.status_code != 201:
                log.info("%s: check of %s not started: %s", self.name, resident,
                         resp.status_code)
                return f"failed:{resp.status_code}"
            session = resp.json()["session"]  # the view URL stays in the (simulated) app
            self.started += 1
            await self.clock.sleep(self.rng.uniform(*self.look_s) / self.speed)
            finding = self._finding()
            await client.post(f"{api}/{session}/observations", json={"finding": finding},
                              headers=headers, params=params)
            await client.post(f"{api}/{session}/end", headers=headers, params=params)
            self.published += 2
            self.findings[finding] = self.findings.get(finding, 0) + 1
            return finding
        except (httpx.HTTPError, ValueError, KeyError) as err:
            log.info("%s: check of %s failed: %s", self.name, resident, type(err).__name__)
            return "failed"
        finally:
            if self._client is None:
                await client.aclose()

    def _finding(self) -> str:
        names, weights = zip(*FINDINGS, strict=True)
        return self.rng.choices(names, weights=weights)[0]

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
