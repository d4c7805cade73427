"""Read and search FHIR resources of one tenant, built on demand from Navet's store.

Nothing is stored twice: a Task is folded from its alarm's events when asked
for, an Observation is its event. Every resource is validated
(:func:`gateway.fhir.checks.validate`) before it leaves; a resource a plugin
supplies through ``navet_event_to_fhir`` is validated the same way.

Event-derived types come in store order (oldest first). Searches stop reading
the store once they have the page asked for plus one (to know a next page
exists); ``total`` is given only when the whole result was read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.sdk.hookspecs import FhirModel
from gateway.sdk.model import EventBase

from . import mapping as m
from .checks import validate
from .codes import RESOURCE_TYPES
from .host import FhirHost
from .ids import fhir_id, navet_id
from .search import SearchQuery

log = logging.getLogger(__name__)

EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "Provenance": ("alarm.",),
    "Observation": m.OBSERVATION_TYPES,
    "AuditEvent": m.AUDIT_TYPES,
    "MedicationDispense": ("medication.dose_dispensed",),
    "MedicationAdministration": ("medication.dose_taken", "medication.dose_missed"),
}
BATCH = 500


@dataclass
class Page:
    resources: list[dict[str, Any]]
    more: bool
    total: int | None


class FhirRepository:
    """Resources of one tenant, read through ``host`` (:class:`gateway.fhir.host.FhirHost`:
    the running gateway, or a subscription sink's services)."""

    def __init__(self, host: FhirHost, tenant: str) -> None:
        self.gw = host
        self.store = host.store
        self.alarms = host.alarm_reads
        self.tenant = tenant

    # ------------------------------------------------------------------ public

    def read(self, resource_type: str, fid: str) -> dict[str, Any] | None:
        """One resource by FHIR id, or None."""
        if resource_type not in RESOURCE_TYPES:
            raise KeyError(resource_type)
        if resource_type in EVENT_TYPES:
            raw = navet_id(fid)
            stored = self.store.get_event(self.tenant, raw) if raw else None
            if stored is not None:
                res = self._from_event(resource_type, stored.event)
                return res if res is not None and res["id"] == fid else None
            if raw is not None:
                return None
        if resource_type == "Location" and fid.startswith("alarm-"):
            raw = navet_id(fid[len("alarm-"):])
            if raw is not None:
                rec = self.alarms.get(self.tenant, raw)
                found = m.alarm_location(rec) if rec is not None and rec.id == raw else None
                return self._checked(found) if found is not None else None
        if resource_type == "Task":
            raw = navet_id(fid)
            if raw is not None:
                rec = self.alarms.get(self.tenant, raw)
                ok = rec is not None and rec.id == raw and rec.state is not None
                return self._checked(m.task(rec)) if ok else None  # type: ignore[arg-type]
        for res in self._all(resource_type, SearchQuery(resource_type)):
            if res["id"] == fid:
                return res
        return None

    def search(self, query: SearchQuery) -> Page:
        found: list[dict[str, Any]] = []
        want = query.offset + query.count + 1
        exhausted = True
        if query.ids is not None:  # by id: read each, never scan
            candidates: Iterator[dict[str, Any]] = iter(
                [r for i in sorted(query.ids) if (r := self.read(query.resource_type, i))])
        else:
            candidates = self._all(query.resource_type, query)
        for res in candidates:
            if query.matches(res):
                found.append(res)
                if len(found) >= want and query.resource_type in (*EVENT_TYPES, "Task"):
                    exhausted = False
                    break
        page = found[query.offset:query.offset + query.count]
        more = len(found) > query.offset + query.count
        return Page(page, more, len(found) if exhausted else None)

    def event_resources(self, event: EventBase) -> list[dict[str, Any]]:
        """The resources one event becomes (for messages and notifications)."""
        if event.type.startswith("alarm."):
            task = self.task_at(event)
            prov = m.provenance(event)
            if task is not None:  # a folded alarm's event belongs to the alarm's Task
                prov["target"] = [{"reference": f"Task/{task['id']}"}]
            return ([task] if task else []) + [self._checked(prov)]
        if event.type in ("supervision.started", "supervision.ended"):
            started, ended = self._session(event)
            out = []
            if started is not None:
                out.append(self._checked(m.encounter(started, ended)))
                out.append(self._checked(m.audit_event(started, ended)))  # type: ignore[arg-type]
            return out
        for rtype in EVENT_TYPES:
            res = self._from_event(rtype, event)
            if res is not None:
                return [res]
        return []

    def task_at(self, event: EventBase) -> dict[str, Any] | None:
        """The alarm's Task as it was right after ``event``.

        An event of an alarm folded into another (``data.folded``) gives the Task of
        the alarm it was folded into: the folded alarm has no Task of its own.
        """
        rec = self.alarms.at(self.tenant, m.alarm_id(event), event.id)
        if rec is None:
            return None
        return self._checked(m.task(rec)) if rec.state is not None else None

    # ------------------------------------------------------------------ per type

    def _all(self, rtype: str, query: SearchQuery) -> Iterator[dict[str, Any]]:
        producers: dict[str, Callable[[SearchQuery], Iterator[dict[str, Any]]]] = {
            "Patient": self._patients, "Location": self._locations, "Device": self._devices,
            "DeviceAssociation": self._associations, "Consent": self._consents,
            "Task": self._tasks, "Encounter": self._encounters, "AuditEvent": self._audits,
        }
        if rtype in producers:
            yield from producers[rtype](query)
            return
        for event in self._events(EVENT_TYPES[rtype], query.resident):
            res = self._from_event(rtype, event)
            if res is not None:
                yield res

    def _patients(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        for row in self.store.rows("residents", self.tenant):
            yield self._checked(m.patient_resource(self.tenant, row["id"]))

    def _locations(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        for row in self.store.rows("residents", self.tenant):
            yield self._checked(m.home_location(self.tenant, row["id"],
                                                json.loads(row["body"] or "{}")))
        for rec in self.alarms.all(self.tenant):  # where alarms with a known position happened
            found = m.alarm_location(rec)
            if found is not None:
                yield self._checked(found)

    def _devices(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        for row in self.store.rows("devices", self.tenant):
            yield self._checked(m.device_resource(row))

    def _associations(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        for row in self.store.rows("devices", self.tenant):
            res = m.association(row)
            if res is not None:
                yield self._checked(res)

    def _consents(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        now = self.gw.clock.now()
        for consent in self.gw.consents(self.tenant):
            yield self._checked(m.consent_resource(self.tenant, consent, now))

    def _tasks(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        for rec in self.alarms.all(self.tenant):
            if query.resident is None or rec.resident == query.resident:
                yield self._checked(m.task(rec))

    def _encounters(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        started: dict[str, EventBase] = {}
        ended: dict[str, EventBase] = {}
        for ev in self._events(("supervision.started", "supervision.ended"), query.resident):
            (started if ev.type == "supervision.started" else ended)[ev.data.session] = ev  # type: ignore[attr-defined]
        for session, ev in started.items():
            yield self._checked(m.encounter(ev, ended.get(session)))

    def _audits(self, query: SearchQuery) -> Iterator[dict[str, Any]]:
        ended = {ev.data.session: ev  # type: ignore[attr-defined]
                 for ev in self._events(("supervision.ended",), query.resident)}
        for ev in self._events(m.AUDIT_TYPES, query.resident):
            end = ended.get(ev.data.session) if ev.type == "supervision.started" else None  # type: ignore[attr-defined]
            res = self._from_event("AuditEvent", ev, ended=end, paired=True)
            if res is not None:
                yield res

    # ------------------------------------------------------------------ helpers

    def _events(self, types: tuple[str, ...], resident: str | None) -> Iterator[EventBase]:
        after: int | None = None
        while True:
            batch = self.store.query_events(self.tenant, types=types, resident=resident,
                                            after_seq=after, limit=BATCH)
            for item in batch:
                yield item.event
            if len(batch) < BATCH:
                return
            after = batch[-1].seq

    def _session(self, event: EventBase) -> tuple[EventBase | None, EventBase | None]:
        session = event.data.session  # type: ignore[attr-defined]
        started = ended = None
        for ev in self._events(("supervision.started", "supervision.ended"), event.resident):
            if ev.data.session == session:  # type: ignore[attr-defined]
                if ev.type == "supervision.started":
                    started = ev
                else:
                    ended = ev
        return started, ended

    def _from_event(self, rtype: str, event: EventBase, *, ended: EventBase | None = None,
                    paired: bool = False) -> dict[str, Any] | None:
        """``paired``: the caller already looked up ``ended`` (the end of a camera check)."""
        if event.tenant != self.tenant:
            return None
        res: dict[str, Any] | None = None
        if event.type not in EVENT_TYPES.get(rtype, ()) and not (
                rtype == "Provenance" and event.type.startswith("alarm.")):
            return None
        plugin = self.gw.plugins.event_to_fhir(event)
        if isinstance(plugin, dict) and plugin.get("resourceType") == rtype:
            res = plugin
        elif isinstance(plugin, FhirModel) and plugin.get_resource_type() == rtype:
            res = plugin.model_dump(mode="json")
        elif rtype == "Provenance":
            res = m.provenance(event)
        elif rtype == "Observation":
            res = m.observation(event)
        elif rtype == "AuditEvent":
            if event.type == "supervision.started" and not paired:
                ended = self._session(event)[1]
            res = m.audit_event(event, ended)
        elif rtype == "MedicationDispense":
            res = m.dispense(event)
        elif rtype == "MedicationAdministration":
            res = m.administration(event, self._dispensed(event))
        return self._checked(res) if res is not None else None

    def _dispensed(self, event: EventBase) -> str | None:
        """The id of the dispense of the same dose, if the dispenser reported one."""
        key = m.dose_key(event)
        found = self.store.query_events(
            self.tenant, types=("medication.dose_dispensed",),
            device=key[0], resident=event.resident, limit=BATCH, newest_first=True)
        return next((i.event.id for i in found if m.dose_key(i.event) == key), None)

    def _checked(self, resource: dict[str, Any]) -> dict[str, Any]:
        return validate(resource)


def patient_for(gateway: FhirHost, tenant: str, fid: str) -> str | None:
    """The resident behind a Patient id of ``tenant`` (None if there is none)."""
    raw = navet_id(fid)
    if raw is not None:
        return raw
    for row in gateway.store.rows("residents", tenant):
        if fhir_id(row["id"]) == fid:
            return str(row["id"])
    return None


__all__ = ["FhirRepository", "Page", "patient_for"]
