"""A simulated alarm-centre operator, so the demo shows alarms through their whole lifecycle.

It works the open-alarm list exactly as a person at an alarm centre would
through the operator API: acknowledge a raised alarm after a short while,
dispatch the home-care team, mark it attended, close it with an outcome.
Technical alarms are acknowledged and closed as fixed. Some alarms it leaves
alone for a while, so the demo also shows escalation along the receiver chain;
a missed dose it takes only after it has escalated along the resident's plan.

It leaves every new alarm untouched for at least ``untouched_s`` (30 s), so a
person who signs in to the console (``navet demo`` prints the accounts) finds
alarms to handle; whatever that person does first, the operator sees as the
alarm's state and carries on from there (or finds the command stale).

It calls :class:`gateway.core.alarms.AlarmService`, the same commands the HTTP
operator API calls, so every step is a stored lifecycle event with the operator
as actor. Delays are in real (wall-clock) seconds, since a SCAIP unit holds its
alarm open in real time until someone takes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field

from gateway.core.gateway import Gateway
from gateway.core.model import Actor, AlarmOutcome
from gateway.errors import TransitionError, UnknownAlarmError

log = logging.getLogger(__name__)


@dataclass
class OperatorStats:
    acknowledged: int = 0
    dispatched: int = 0
    attended: int = 0
    closed: int = 0
    left_to_escalate: int = 0
    refused: int = 0
    seen: set[str] = field(default_factory=set)


class DemoOperator:
    """Works every tenant's open alarms until stopped."""

    def __init__(self, gateway: Gateway, tenants: list[str], *, seed: int = 1,
                 poll_s: float = 0.5, step_s: tuple[float, float] = (2.0, 6.0),
                 ignore_share: float = 0.2, untouched_s: float = 30.0) -> None:
        self.gw = gateway
        self.tenants = tenants
        self.poll_s = poll_s
        self.step_s = step_s
        self.ignore_share = ignore_share
        self.untouched_s = untouched_s
        self.stats = OperatorStats()
        self._rng = random.Random(seed)
        self._next: dict[tuple[str, str], float] = {}
        self._ignored: set[tuple[str, str]] = set()
        self._task: asyncio.Task[None] | None = None
        self.me = Actor(kind="operator", id="op-demo", name="Demo operator")
        self.team = Actor(kind="staff", id="team-norr", name="Hemtjänst norr")
        self.nurse = Actor(kind="staff", id="st-101", name="Nattpatrull")

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="demo-operator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            for tenant in self.tenants:
                try:
                    alarms = await self.gw.alarms.open_alarms(tenant)
                except Exception:
                    log.exception("demo operator: cannot read open alarms of %s", tenant)
                    continue
                for rec in alarms:
                    key = (tenant, rec.id)
                    if key not in self._next:
                        self.stats.seen.add(rec.id)
                        wait = self.untouched_s + self._rng.uniform(*self.step_s)
                        if rec.kind and rec.kind.startswith("medication."):
                            # a missed dose goes to home-care staff first: the centre takes
                            # it only once it has escalated along the plan's chain
                            wait += 15.0
                        elif rec.kind and not rec.kind.startswith("technical") and \
                                self._rng.random() < self.ignore_share:
                            self._ignored.add(key)  # nobody takes it for a while: escalation
                            self.stats.left_to_escalate += 1
                            wait += 180.0
                        self._next[key] = loop.time() + wait
                    if loop.time() >= self._next[key]:
                        await self._step(tenant, rec)
                        self._next[key] = loop.time() + self._rng.uniform(*self.step_s)
            await asyncio.sleep(self.poll_s)

    async def _step(self, tenant: str, rec: object) -> None:
        svc = self.gw.alarms
        state = str(getattr(rec, "state", ""))
        kind = str(getattr(rec, "kind", "") or "")
        alarm = str(getattr(rec, "id", ""))
        technical = kind.startswith("technical")
        try:
            if state.endswith("raised"):
                await svc.acknowledge(tenant, alarm, self.me)
                self.stats.acknowledged += 1
            elif state.endswith("acknowledged") and technical:
                await svc.close(tenant, alarm, self.me, AlarmOutcome.TECHNICAL_FIXED)
                self.stats.closed += 1
            elif state.endswith("acknowledged"):
                to = self.nurse if kind == "fall" else self.team
                await svc.dispatch(tenant, alarm, self.me, to)
                self.stats.dispatched += 1
            elif state.endswith("dispatched"):
                await svc.attend(tenant, alarm, self.team)
                self.stats.attended += 1
            elif state.endswith("attended"):
                outcome = self._rng.choice([AlarmOutcome.ASSISTANCE_GIVEN,
                                            AlarmOutcome.ASSISTANCE_GIVEN,
                                            AlarmOutcome.NO_ACTION_NEEDED])
                await svc.close(tenant, alarm, self.team, outcome)
                self.stats.closed += 1
        except (TransitionError, UnknownAlarmError) as err:
            # the alarm moved on meanwhile (cancelled by the resident, closed elsewhere)
            self.stats.refused += 1
            log.debug("demo operator: %s", err)

    def summary(self) -> dict[str, int]:
        s = self.stats
        return {"alarms_seen": len(s.seen), "acknowledged": s.acknowledged,
                "dispatched": s.dispatched, "attended": s.attended, "closed": s.closed,
                "left_to_escalate": s.left_to_escalate}
