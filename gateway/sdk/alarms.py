"""How plugins read alarms and act on them, without knowing how the core keeps them.

The core keeps one record per alarm (its lifecycle state and the events that
led there); plugins see it as :class:`AlarmView`. Sinks that forward alarms get
an :class:`AlarmDesk` (``services.alarms``); the FHIR facade reads through an
:class:`AlarmReader`. An alarm folded into another (a repeat press, stored as
``alarm.updated`` with ``data.folded``) is no alarm of its own: asking for it
gives the alarm it was folded into.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from .model import Actor, DeviceRef, EventBase, Location, Priority


class AlarmView(Protocol):
    """One alarm, read-only: its lifecycle state and the events that led there."""

    @property
    def tenant(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def state(self) -> str | None:
        """``raised``, ``acknowledged``, ``dispatched``, ``attended``, ``closed`` or
        ``cancelled``; None when events are known but not its ``alarm.raised``."""
        ...

    @property
    def kind(self) -> str | None: ...

    @property
    def priority(self) -> Priority | None: ...

    @property
    def resident(self) -> str | None: ...

    @property
    def device(self) -> DeviceRef | None: ...

    @property
    def location(self) -> Location | None: ...

    @property
    def text(self) -> str | None: ...

    @property
    def raised(self) -> datetime | None: ...

    @property
    def received(self) -> datetime | None: ...

    @property
    def acknowledged_by(self) -> Actor | None: ...

    @property
    def dispatched_to(self) -> Sequence[Actor]: ...

    @property
    def attended_by(self) -> Actor | None: ...

    @property
    def closed_by(self) -> Actor | None: ...

    @property
    def outcome(self) -> str | None: ...

    @property
    def escalation_level(self) -> int: ...

    @property
    def escalated_to(self) -> str | None: ...

    @property
    def repeats(self) -> int: ...

    @property
    def folded(self) -> Sequence[str]:
        """Ids of the alarms folded into this one."""
        ...

    @property
    def history(self) -> Sequence[EventBase]:
        """The alarm's stored events, oldest first."""
        ...


class AlarmReader(Protocol):
    """Synchronous reads of one tenant's alarms (the FHIR facade's Tasks)."""

    def get(self, tenant: str, alarm: str) -> AlarmView | None:
        """The alarm ``alarm`` belongs to, in any state; None when it is unknown."""
        ...

    def open(self, tenant: str) -> list[AlarmView]:
        """The tenant's open alarms."""
        ...

    def all(self, tenant: str) -> list[AlarmView]:
        """Every alarm of the tenant, open or over, oldest first."""
        ...

    def at(self, tenant: str, alarm: str, event: str) -> AlarmView | None:
        """The alarm ``alarm`` belongs to as it was right after its event ``event``
        (what a notification about that event shows); None when it is unknown."""
        ...


class AlarmDesk(Protocol):
    """What a forwarding sink may do with alarms (``services.alarms``)."""

    async def alarm(self, tenant: str, alarm: str) -> AlarmView | None:
        """The alarm ``alarm`` belongs to; None when it is unknown."""
        ...

    async def acknowledge(self, tenant: str, alarm: str, actor: Actor) -> EventBase:
        """Acknowledge ``alarm`` on behalf of ``actor`` (the upstream centre took it).

        Raises :class:`gateway.errors.TransitionError` when the alarm's state does not
        allow it and :class:`gateway.errors.UnknownAlarmError` when there is no such alarm.
        """
        ...
