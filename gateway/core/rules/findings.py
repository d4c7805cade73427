"""What camera checks find: the rule that turns observations and unallowed streams into events.

Lives with the rules (the camera policy in :mod:`gateway.core.policy.cameras` uses
them; rules never import the policy).
"""

from __future__ import annotations

from typing import Any

from ..model import AlarmKind, EventBase, Finding, Priority, event_id, make_event
from ..store.repos import audit as audit_rows

NAVET = "navet"
START = "supervision.start"
"""The command whose audited allowance makes a camera session allowed."""

FINDING_ALARM_TEXT = "Seen in a camera check: the resident needs help now"


def derived_for(observation: EventBase) -> list[EventBase]:
    """What an observation asks of others: an alarm (needs_alarm) or a visit (needs_visit).

    Ids are deterministic from the observation, so a replay derives nothing twice.
    """
    if observation.type != "supervision.observation":
        return []
    data: Any = observation.data
    common: dict[str, Any] = {
        "tenant": observation.tenant, "time": observation.time,
        "resident": observation.resident, "device": observation.device,
        "source": {"adapter": NAVET, "protocol": NAVET, "ref": observation.id},
    }
    if data.finding == Finding.NEEDS_ALARM:
        return [make_event(
            "alarm.raised", **common, priority=Priority.CRITICAL,
            data={"kind": AlarmKind.SUPERVISION_NEEDS_HELP, "text": FINDING_ALARM_TEXT,
                  "code": "supervision.needs_alarm"},
            id=event_id(NAVET, observation.tenant, observation.id, "alarm.raised"))]
    if data.finding == Finding.NEEDS_VISIT:
        return [make_event(
            "visit.requested", **common, priority=Priority.NORMAL,
            data={"by": data.by, "reason": "camera check: the resident needs a visit",
                  "session": data.session, "observation": observation.id},
            id=event_id(NAVET, observation.tenant, observation.id, "visit.requested"))]
    return []


UNALLOWED_TEXT = "camera streamed outside any check Navet allowed"


def allowed_session(store: Any, tenant: str, session: str) -> bool:
    """Whether the audit log holds Navet's allowance of ``session`` (written before the
    vendor was asked, so it is there before the vendor can report the session)."""
    def query(conn: Any) -> bool:
        try:
            return audit_rows.has_allowed_session(conn, tenant, START, session)
        except Exception:  # no audit log yet: nothing was ever allowed
            return False

    return bool(store.read_sync(query))


def unallowed_stream(event: EventBase, store: Any) -> list[EventBase]:
    """A camera that reports a session Navet never allowed raises a technical alarm.

    Outside sessions a camera must be off or covered; a vendor portal, a service
    technician or a fault that opens the stream is a privacy incident someone must
    look into now (and a personuppgiftsincident to assess).
    """
    data: Any = event.data
    if event.type == "supervision.started":
        session = str(data.session)
    elif event.type == "camera.privacy" and str(data.state) == "live" and data.session is None:
        session = ""
    else:
        return []
    if session and allowed_session(store, event.tenant, session):
        return []
    return [make_event(
        "alarm.raised", tenant=event.tenant, time=event.time, resident=event.resident,
        device=event.device, priority=Priority.HIGH,
        source={"adapter": NAVET, "protocol": NAVET, "ref": event.id},
        data={"kind": AlarmKind.TECHNICAL_OTHER, "code": "supervision.unallowed_stream",
              "text": f"{UNALLOWED_TEXT} (session {session or 'none'})"[:500]},
        id=event_id(NAVET, event.tenant, event.id, "alarm.raised"))]


class SupervisionFindingsRule:
    """Core rule for camera checks.

    An observation that needs someone raises an alarm (``needs_alarm``) or requests a
    visit (``needs_visit``); a camera streaming in a session Navet never allowed raises a
    technical alarm (:func:`unallowed_stream`).
    """

    name = "supervision-findings"

    def on_event(self, event: EventBase, ctx: Any) -> list[EventBase]:
        if event.type == "supervision.observation":
            return derived_for(event)
        if event.type in ("supervision.started", "camera.privacy") \
                and event.source.adapter != NAVET:
            return unallowed_stream(event, ctx.store)
        return []

