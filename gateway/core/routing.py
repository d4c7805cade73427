"""Routing per tenant: which consumer gets which events, by time of day, with a fallback.

A tenant's routes (settings ``routing``, see docs/operators.md) send events to
subscriptions by event type, alarm kind and priority, and by local time of
day in the tenant's timezone (care configuration ``timezone``). Example: falls
and button alarms go to the alarm centre at night and to the home-care team's
console by day; the alarm centre's second receiver takes over when the first
is down.

How it works, on top of the outbox (:mod:`gateway.core.outbox`): the store
fans every event out to each subscription whose ``types`` match, as always.
A subscription that a route names (as ``to`` or ``fallback``) is *routed*: its
outbox worker asks the :class:`Router` before delivering, and delivers only
what routing gives it; rows routed elsewhere are removed without delivery.
Subscriptions no route names are untouched.

For an event the router takes the routes of its tenant whose match fits, in
order, and picks the first whose time windows contain the event's local time
(no windows: always). Its ``to`` is the target, its ``fallback`` (or the
tenant's) the fallback. If matching routes exist but none is on duty at that
time, the fallback is the target ("the primary is not configured for that
time"). The fallback also becomes the target when the primary is not running
(disabled, or no sink), or while it is *failing*: a delivery to the primary
that fails ``failover_after`` times hands the event over to the fallback (the
outbox row moves, durably, marked as a handover) and marks the primary failing
for ``probe_s``; during that time its events go straight to the fallback;
after it, the next event probes the primary again.

All events of one alarm follow the alarm: its kind, priority and time of day
are those of its ``alarm.raised``, so an acknowledgement at 22:01 goes where
the alarm raised at 21:59 went.

Delivery stays at-least-once: a handover can, rarely, reach both the primary
and the fallback (the primary recovered in between); it never reaches neither.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.errors import ConfigError

from .care import TimeWindow
from .care.models import in_window
from .clock import Clock
from .durations import Seconds
from .model import CATALOGUE, EventAdapter, EventBase, Priority
from .store import DbConnection, Store, Subscription
from .store.repos import events, outbox

log = logging.getLogger(__name__)

HANDOVER = "handover:"
"""Prefix of ``last_error`` on an outbox row handed over to a fallback."""

DEFAULT_ZONE = "Europe/Stockholm"  # the care configuration's default too
ZONE_TTL = timedelta(minutes=1)


# --------------------------------------------------------------------------- configuration


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteMatch(_Model):
    """What a route carries. Empty lists match everything."""

    types: list[str] = Field(default_factory=list,
                             description="Event types or prefixes ending in '.', e.g. 'alarm.'.")
    kinds: list[str] = Field(default_factory=list,
                             description="Alarm kinds or prefixes ending in '.' "
                             "(e.g. 'fall', 'technical.'); events of no alarm never match.")
    priorities: list[Priority] = Field(default_factory=list,
                                       description="An event without priority counts as normal.")

    @model_validator(mode="after")
    def _known_types(self) -> RouteMatch:
        for pattern in self.types:
            if not any(t == pattern or (pattern.endswith(".") and t.startswith(pattern))
                       for t in CATALOGUE):
                raise ValueError(f"route type {pattern!r} is neither an event type nor a prefix "
                                 "of one (prefixes end with '.', e.g. 'alarm.')")
        return self


class Route(_Model):
    name: str = Field(default="", max_length=120, description="For logs and docs.")
    match: RouteMatch = Field(default_factory=RouteMatch)
    to: str = Field(description="Subscription id of the primary receiver.")
    when: list[TimeWindow] = Field(default_factory=list,
                                   description="Local time windows the primary is on duty; "
                                   "none: always.")
    fallback: str | None = Field(default=None,
                                 description="Subscription id taking over outside 'when' or "
                                 "while the primary fails; default: the tenant's fallback.")
    failover_after: int = Field(default=1, ge=1,
                                description="Failed deliveries to the primary before the "
                                "fallback takes the event.")


class TenantRouting(_Model):
    tenant: str
    routes: list[Route] = Field(default_factory=list)
    fallback: str | None = Field(default=None, description="Fallback for routes without one.")
    probe_s: Seconds = Field(default=60.0, gt=0,
                           description="A failing primary gets events again after this long.")


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Facts:
    """What routing decides on: the event's own, or its alarm's for alarm events."""

    type: str
    kind: str | None
    priority: Priority
    at: datetime  # when it counts for the time of day (UTC)


@dataclass(frozen=True, slots=True)
class Choice:
    route: Route
    target: str | None  # None: nobody is on duty and there is no fallback
    fallback: str | None
    on_duty: bool  # False: the primary is off duty, the target is the fallback


def _matches(pattern: str, value: str) -> bool:
    return value == pattern or (pattern.endswith(".") and value.startswith(pattern))


def route_matches(match: RouteMatch, facts: Facts) -> bool:
    if match.types and not any(_matches(p, facts.type) for p in match.types):
        return False
    if match.kinds and (facts.kind is None or not any(_matches(k, facts.kind)
                                                      for k in match.kinds)):
        return False
    return not match.priorities or facts.priority in match.priorities


def choose(tenant: TenantRouting, facts: Facts, tz: ZoneInfo) -> Choice | None:
    """The route for ``facts``, or None when no route of the tenant matches."""
    local = facts.at.astimezone(tz)
    candidates = [r for r in tenant.routes if route_matches(r.match, facts)]
    for route in candidates:
        if not route.when or any(in_window(w, local) for w in route.when):
            return Choice(route, route.to, route.fallback or tenant.fallback, True)
    if not candidates:
        return None
    first = candidates[0]
    return Choice(first, first.fallback or tenant.fallback, None, False)


# --------------------------------------------------------------------------- the router


class Router:
    """Asked by the outbox worker of each routed subscription; see the module docstring."""

    def __init__(self, tenants: Sequence[TenantRouting], store: Store, clock: Clock,
                 running: Callable[[], Iterable[str]]) -> None:
        self.tenants = {t.tenant: t for t in tenants}
        self.store = store
        self.clock = clock
        self.running = running  # ids of subscriptions that are enabled and have a sink
        self.routed = {(t.tenant, sub) for t in tenants for sub in _receivers(t)}
        self.failing: dict[str, datetime] = {}  # subscription -> failing until
        self._zones: dict[str, tuple[ZoneInfo, datetime]] = {}  # tenant -> (zone, read at)

    def check(self, subscriptions: Sequence[Subscription]) -> None:
        """Refuse routing that names unknown subscriptions or sends them types they drop."""
        subs = {s.id: s for s in subscriptions}
        for tenant in self.tenants.values():
            for route in tenant.routes:
                label = f"routing of tenant {tenant.tenant}, route {route.name or route.to!r}"
                if route.when and not (route.fallback or tenant.fallback):
                    raise ConfigError(f"{label}: it has duty hours ('when') but no fallback, so "
                                      "outside them its events would reach no routed receiver; "
                                      "name a fallback for the route or the tenant")
                for role, sub_id in (("to", route.to),
                                     ("fallback", route.fallback or tenant.fallback)):
                    if sub_id is None:
                        continue
                    sub = subs.get(sub_id)
                    if sub is None or sub.tenant != tenant.tenant:
                        raise ConfigError(f"{label}: {role} {sub_id!r} is not a subscription of "
                                          f"tenant {tenant.tenant}")
                    patterns = route.match.types or ["*"]
                    types = [t for t in CATALOGUE if t != "device.heartbeat"
                             and any(p == "*" or _matches(p, t) for p in patterns)]
                    dropped = [t for t in types if not sub.matches(t)]
                    if dropped:
                        raise ConfigError(
                            f"{label}: subscription {sub_id!r} does not subscribe to "
                            f"{', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''}; "
                            "widen its types or narrow the route's match.types")

    def is_routed(self, sub: Subscription) -> bool:
        return (sub.tenant, sub.id) in self.routed

    # ------------------------------------------------------------------ outbox hooks

    async def before(self, sub: Subscription, seq: int, event: EventBase) -> bool:
        """True when ``sub`` must not deliver this row now (routing moved or removed it).

        Only the primary's worker acts on the primary's health (it hands rows
        over); a fallback delivers on what is fixed by configuration and time
        (off duty, primary not running) or on a handover, so one event never
        goes to the fallback twice.
        """
        if not self.is_routed(sub):
            return False
        choice = await self._choice(event)
        running = set(self.running())
        if choice is not None and choice.target == sub.id:
            fallback = choice.fallback
            if (choice.on_duty and fallback is not None and fallback != sub.id
                    and fallback in running and self._failing(sub.id)):
                await self._hand_over(sub, fallback, seq, event, "failing, not tried")
                return True
            return False
        if (choice is not None and choice.fallback == sub.id and choice.target is not None
                and choice.target not in running):
            return False  # the primary is not running: the fallback has it
        if await self.store.read(lambda conn: _handed_over(conn, sub.id, seq)):
            return False
        # Not ours. Remove the row unless a handover marked it in the meantime.
        return await self.store.write(lambda conn: _remove_unless_handed(conn, sub.id, seq))

    async def failed(self, sub: Subscription, seq: int, event: EventBase, attempts: int,
                     error: str) -> bool:
        """True when the row was handed to the fallback instead of being retried."""
        if not self.is_routed(sub):
            return False
        choice = await self._choice(event)
        if choice is None or choice.target != sub.id or not choice.on_duty:
            return False
        fallback = choice.fallback
        if fallback is None or fallback == sub.id or fallback not in set(self.running()):
            return False
        if attempts + 1 < choice.route.failover_after:
            return False
        tenant = self.tenants[event.tenant]
        self.failing[sub.id] = self.clock.now() + timedelta(seconds=tenant.probe_s)
        await self._hand_over(sub, fallback, seq, event, error)
        return True

    def succeeded(self, sub: Subscription) -> None:
        self.failing.pop(sub.id, None)

    async def _hand_over(self, sub: Subscription, fallback: str, seq: int, event: EventBase,
                         why: str) -> None:
        now = self.clock.now()
        note = f"{HANDOVER} from {sub.id}: {why}"[:500]
        await self.store.write(lambda conn: _hand_over(conn, sub.id, fallback, seq, now, note))
        log.warning("routing: %s is failing (%s); event %s handed over to %s", sub.id, why,
                    event.id, fallback)

    def _failing(self, sub_id: str) -> bool:
        until = self.failing.get(sub_id)
        return until is not None and until > self.clock.now()

    # ------------------------------------------------------------------ decisions

    async def target(self, event: EventBase) -> str | None:
        """Where ``event`` goes now, as the workers decide it (None: no routed receiver)."""
        choice = await self._choice(event)
        if choice is None or choice.target is None:
            return None
        fallback, running = choice.fallback, set(self.running())
        if fallback is not None and fallback in running and (
                choice.target not in running or (choice.on_duty
                                                 and self._failing(choice.target))):
            return fallback
        return choice.target

    async def _choice(self, event: EventBase) -> Choice | None:
        tenant = self.tenants.get(event.tenant)
        if tenant is None or not tenant.routes:
            return None
        facts = await self.store.read(lambda conn: _facts(conn, event))
        return choose(tenant, facts, self._zone(event.tenant))

    def _zone(self, tenant: str) -> ZoneInfo:
        """The tenant's timezone from its care configuration, read again every minute."""
        now = self.clock.now()
        cached = self._zones.get(tenant)
        if cached is not None and now - cached[1] < ZONE_TTL:
            return cached[0]
        rows = self.store.rows("tenants", tenant)
        name = json.loads(rows[0]["body"] or "{}").get("timezone") if rows else None
        try:
            zone = ZoneInfo(name or DEFAULT_ZONE)
        except (ZoneInfoNotFoundError, ValueError):  # care config validates it; be safe anyway
            zone = ZoneInfo(DEFAULT_ZONE)
        self._zones[tenant] = (zone, now)
        return zone


def _receivers(tenant: TenantRouting) -> set[str]:
    subs = {r.to for r in tenant.routes} | {r.fallback for r in tenant.routes if r.fallback}
    if tenant.fallback:
        subs.add(tenant.fallback)
    return subs


# --------------------------------------------------------------------------- store access


def _facts(conn: DbConnection, event: EventBase) -> Facts:
    at = event.received or event.time
    priority, kind = event.priority, None
    if event.type.startswith("alarm."):
        alarm = event.alarm or event.id
        body = events.first_of_alarm(conn, event.tenant, alarm, "alarm.raised")
        raised: Any = EventAdapter.validate_json(body) if body else (
            event if event.type == "alarm.raised" else None)
        if raised is not None:
            kind = str(raised.data.kind)
            priority = raised.priority or priority
            at = raised.received or raised.time
    return Facts(event.type, kind, priority or Priority.NORMAL, at)


def _handed_over(conn: DbConnection, sub: str, seq: int) -> bool:
    error = outbox.last_error(conn, sub, seq)
    return bool(error and str(error).startswith(HANDOVER))


def _remove_unless_handed(conn: DbConnection, sub: str, seq: int) -> bool:
    return outbox.remove_pending_unless(conn, sub, seq, HANDOVER)


def _hand_over(conn: DbConnection, primary: str, fallback: str, seq: int, now: datetime,
               note: str) -> None:
    outbox.move(conn, primary, fallback, seq, now, note)
