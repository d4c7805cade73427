"""One alarm's state: the lifecycle state machine and the record it folds into.

:class:`AlarmRecord.apply` is the one place that says what an alarm event does to
an alarm. The store applies it to the alarm projection (the ``alarms`` table,
:mod:`gateway.core.store.alarms`) in the transaction that stores each event; the
migration that created the table folded the history once with it, and a test
holds the projection equal to the fold of the whole history.

Imports only the model, so the store can use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .model import Actor, DeviceRef, EventBase, Location, Priority

__all__ = ["PRIORITY_ORDER", "AlarmRecord", "AlarmState", "fold_history"]


class AlarmState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ATTENDED = "attended"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def open(self) -> bool:
        return self not in (AlarmState.CLOSED, AlarmState.CANCELLED)

    @property
    def taken(self) -> bool:
        """A person has the alarm (SCAIP stops answering HOLD from here on)."""
        return self in (AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED, AlarmState.ATTENDED,
                        AlarmState.CLOSED)


PRIORITY_ORDER = {Priority.CRITICAL: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


@dataclass
class AlarmRecord:
    """What is known about one alarm: its state and the events that led there."""

    tenant: str
    id: str
    state: AlarmState | None = None  # None: events seen, but never its alarm.raised
    kind: str | None = None
    priority: Priority | None = None
    resident: str | None = None
    device: DeviceRef | None = None
    location: Location | None = None
    text: str | None = None
    raised: datetime | None = None  # at the device
    received: datetime | None = None  # when Navet stored the raise: deadlines count from here
    acknowledged_by: Actor | None = None
    dispatched_to: list[Actor] = field(default_factory=list)
    attended_by: Actor | None = None
    closed_by: Actor | None = None
    outcome: str | None = None
    escalation_level: int = 0
    escalated_to: str | None = None
    cancel_requested: bool = False  # a cancel arrived after someone took the alarm
    repeats: int = 0  # raises repeated or folded into this alarm
    folded: list[str] = field(default_factory=list)  # ids of alarms folded into this one
    history: list[EventBase] = field(default_factory=list)
    acknowledged_at: datetime | None = None  # at the event (who: acknowledged_by)
    attended_at: datetime | None = None
    closed_at: datetime | None = None  # closed or cancelled
    ack_due: datetime | None = None  # filled by views: when the current level runs out
    overdue: bool = False  # filled by views: unacknowledged past the end of the chain

    def apply(self, ev: EventBase) -> None:
        """Fold one stored event into the record (idempotent per event id)."""
        if any(h.id == ev.id for h in self.history):
            return
        self.history.append(ev)
        data: Any = ev.data
        t = ev.type
        if ev.priority is not None and t in ("alarm.raised", "alarm.updated"):
            self.priority = ev.priority
        if t == "alarm.raised":
            if (ev.alarm or ev.id) != self.id:
                return  # a folded alarm's raise: its alarm.updated (folded) counts it
            if self.state is None:
                self.state = AlarmState.RAISED
                self.kind = str(data.kind)
                self.raised, self.received = ev.time, ev.received or ev.time
                self.resident, self.device, self.location = ev.resident, ev.device, ev.location
                self.text = data.text
            else:
                self.repeats += 1
                self.text = data.text or self.text
        elif t == "alarm.updated":
            self.text = data.text or self.text
            if data.folded is not None and data.folded.alarm not in self.folded:
                self.folded.append(data.folded.alarm)
                self.repeats += 1
            if data.position is not None:
                # a new position; text, code, zone and user stay what the raise said
                self.location = (self.location or Location()).model_copy(
                    update={"point": data.position})
        elif t == "alarm.cancelled":
            if (ev.alarm or ev.id) != self.id:
                return  # the end of one folded press (a zone restored): not of the alarm
            if self.state is AlarmState.RAISED:
                self.state, self.closed_at = AlarmState.CANCELLED, ev.time
            elif self.state is not None and self.state.open:
                self.cancel_requested = True
        elif t == "alarm.acknowledged":
            if self.state is AlarmState.RAISED:
                self.state, self.acknowledged_by = AlarmState.ACKNOWLEDGED, data.by
                self.acknowledged_at = ev.time
        elif t == "alarm.escalated":
            if data.level > self.escalation_level:
                self.escalation_level, self.escalated_to = data.level, data.to
        elif t == "alarm.dispatched":
            if self.state in (AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED):
                self.state = AlarmState.DISPATCHED
                self.dispatched_to.append(data.to)
        elif t == "alarm.attended":
            if self.state in (AlarmState.ACKNOWLEDGED, AlarmState.DISPATCHED):
                self.state, self.attended_by = AlarmState.ATTENDED, data.by
                self.attended_at = ev.time
        elif t == "alarm.closed" and self.is_open:
            self.state, self.closed_by, self.closed_at = AlarmState.CLOSED, data.by, ev.time
            self.outcome = str(data.outcome)

    @property
    def is_open(self) -> bool:
        return self.state is not None and self.state.open

    @property
    def sort_key(self) -> tuple[int, str]:
        return (PRIORITY_ORDER.get(self.priority or Priority.NORMAL, 2),
                (self.received or self.raised or datetime.min).isoformat())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready view for operators (the HTTP API serialises this)."""
        def actor(a: Actor | None) -> dict[str, Any] | None:
            return a.model_dump(mode="json", exclude_none=True) if a else None

        return {
            "id": self.id, "tenant": self.tenant, "state": str(self.state) if self.state else None,
            "kind": self.kind, "priority": str(self.priority or Priority.NORMAL),
            "resident": self.resident, "device": self.device.id if self.device else None,
            "location": self.location.model_dump(mode="json", exclude_none=True)
            if self.location else None,
            "text": self.text,
            "raised": self.raised.isoformat() if self.raised else None,
            "acknowledged_by": actor(self.acknowledged_by),
            "dispatched_to": [actor(a) for a in self.dispatched_to],
            "attended_by": actor(self.attended_by),
            "closed_by": actor(self.closed_by), "outcome": self.outcome,
            "escalation_level": self.escalation_level, "escalated_to": self.escalated_to,
            "ack_due": self.ack_due.isoformat() if self.ack_due else None,
            "overdue": self.overdue, "cancel_requested": self.cancel_requested,
            "repeats": self.repeats, "folded": list(self.folded),
            "history": [h.model_dump(mode="json", exclude_none=True) for h in self.history],
        }


def fold_history(
    events: Iterable[tuple[int, EventBase]],
) -> tuple[list[AlarmRecord], dict[tuple[str, str], str], dict[tuple[str, str], tuple[int, str]]]:
    """Fold stored alarm events ``(seq, event)`` into records, the whole history at once.

    Events apply in storage order, each to the alarm its id belongs to at that
    moment: a fold (``alarm.updated`` with ``data.folded``) makes the folded alarm
    part of the one the update is about from then on (with the alarms folded into
    it before), and its raise's priority passes to that alarm. Events of a folded
    alarm stored before its fold stay with it and are hidden with it; nothing is
    re-applied backwards (so a repeat raise of a closed alarm that a rule folds into
    an open one does not close the open one).

    Returns the records (with history; folded alarms have none of their own), which
    alarm each folded alarm belongs to, and the (seq, event id) that last touched
    each alarm. Only the migration that fills the projection and the test that holds
    the projection to this fold call it; nothing on a hot path folds history.
    """
    into: dict[tuple[str, str], str] = {}
    records: dict[tuple[str, str], AlarmRecord] = {}
    last: dict[tuple[str, str], tuple[int, str]] = {}
    for seq, ev in sorted(events, key=lambda pair: pair[0]):
        own = (ev.tenant, ev.alarm or ev.id)
        key = (own[0], into.get(own, own[1]))
        rec = records.setdefault(key, AlarmRecord(*key))
        folded = getattr(ev.data, "folded", None) if ev.type == "alarm.updated" else None
        if folded is not None and ev.alarm and folded.alarm != key[1]:
            gone = (ev.tenant, folded.alarm)
            old = records.pop(gone, None)
            if old is not None and old.state is not None and old.priority is not None:
                rec.priority = old.priority
            into[gone] = key[1]
            for k, v in list(into.items()):
                if (k[0], v) == gone:
                    into[k] = key[1]
            last[gone] = (seq, ev.id)
        rec.apply(ev)
        last[key] = last[own] = (seq, ev.id)
    return list(records.values()), into, last
