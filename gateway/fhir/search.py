"""FHIR search parameters the facade supports, parsed and matched.

Per type: ``_id`` (token, comma = OR), ``_lastUpdated`` (date with prefix
eq/gt/ge/lt/le, repeatable = AND), ``patient`` and ``subject`` (reference
``Patient/<id>``, or a bare id; ``subject`` may also name a Device for
Observations), ``status`` (token, comma = OR), and ``_count`` / ``_offset``
for paging. Anything else is refused with a message naming the parameter:
silently ignoring a filter would show an operator more than asked for.
A date without a UTC offset (``2026-01-01``) is taken as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .ids import fhir_id

PATIENT_PATH: dict[str, str] = {
    "Task": "for", "Provenance": "patient", "Observation": "subject", "AuditEvent": "patient",
    "Encounter": "subject", "MedicationDispense": "subject", "MedicationAdministration": "subject",
    "Consent": "subject", "DeviceAssociation": "subject",
}
WITH_STATUS = ("Task", "Observation", "Encounter", "MedicationDispense",
               "MedicationAdministration", "Consent", "Device", "Location", "DeviceAssociation",
               "Subscription")
COMMON = ("_id", "_lastUpdated")
DEFAULT_COUNT = 50
MAX_COUNT = 500
MAX_OFFSET = 1_000_000
IGNORED = ("tenant", "_format", "_count", "_offset")


def search_params(resource_type: str) -> list[tuple[str, str, str]]:
    """(name, type, description) of each search parameter ``resource_type`` supports."""
    out = [("_id", "token", "Logical id; comma-separated ids match any."),
           ("_lastUpdated", "date", "meta.lastUpdated with prefix eq, gt, ge, lt or le.")]
    if resource_type in PATIENT_PATH:
        path = PATIENT_PATH[resource_type]
        out.append(("patient", "reference", f"{resource_type}.{path} as Patient/<id>."))
        out.append(("subject", "reference", f"{resource_type}.{path}."))
    if resource_type in WITH_STATUS:
        out.append(("status", "token", f"{resource_type}.status; comma-separated codes match any."))
    return out


class SearchError(ValueError):
    """A search parameter Navet cannot honour; the message names it."""


_DATE = re.compile(
    r"^(?P<prefix>eq|gt|ge|lt|le)?(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(\.(?P<frac>\d{1,9}))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2}))?)?)?$"
)


def parse_date(value: str) -> tuple[str, datetime, datetime]:
    """``(prefix, start, end)``: the instant range ``value`` denotes at its precision."""
    m = _DATE.match(value)
    if m is None:
        raise SearchError(f"_lastUpdated {value!r} is not a FHIR date (e.g. ge2026-01-01 or "
                          "lt2026-01-01T08:00:00Z)")
    g = m.groupdict()
    try:
        if g["hour"] is not None:
            tz = UTC if g["tz"] == "Z" else datetime.strptime(g["tz"], "%z").tzinfo
            second = int(g["second"] or 0)
            frac = g["frac"] or ""
            start = datetime(int(g["year"]), int(g["month"]), int(g["day"]), int(g["hour"]),
                             int(g["minute"]), second,
                             int((frac + "000000")[:6]) if frac else 0, tzinfo=tz)
            step = (timedelta(microseconds=10 ** max(0, 6 - len(frac))) if frac
                    else timedelta(seconds=1) if g["second"] else timedelta(minutes=1))
            end = start + step
        elif g["day"] is not None:
            start = datetime(int(g["year"]), int(g["month"]), int(g["day"]), tzinfo=UTC)
            end = start + timedelta(days=1)
        elif g["month"] is not None:
            start = datetime(int(g["year"]), int(g["month"]), 1, tzinfo=UTC)
            end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
        else:
            start = datetime(int(g["year"]), 1, 1, tzinfo=UTC)
            end = datetime(start.year + 1, 1, 1, tzinfo=UTC)
    except (ValueError, OverflowError) as err:  # 2026-02-30, 9999-12-31 + 1 day
        raise SearchError(f"_lastUpdated {value!r}: {err}") from err
    return g["prefix"] or "eq", start, end


@dataclass
class SearchQuery:
    resource_type: str
    ids: set[str] | None = None
    references: set[str] | None = None  # "Patient/<fid>" / "Device/<fid>"
    resident: str | None = None  # pushed down to the store when one patient is asked for
    statuses: set[str] | None = None
    dates: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0

    @classmethod
    def parse(cls, resource_type: str, params: Iterable[tuple[str, str]],
              resident_of: Callable[[str], str | None]) -> SearchQuery:
        """Parse query parameters; ``resident_of(fid)`` resolves a Patient id."""
        q = cls(resource_type)
        allowed = {name for name, _, _ in search_params(resource_type)}
        for name, value in params:
            base_name = name.split(":")[0]
            if name in IGNORED:
                continue
            if name != base_name or base_name not in allowed:
                supported = ", ".join(sorted(allowed | {"_count", "_offset"}))
                raise SearchError(f"search parameter {name!r} is not supported for "
                                  f"{resource_type} (supported: {supported})")
            if name == "_id":
                q.ids = (q.ids or set()) | {v for v in value.split(",") if v}
            elif name == "_lastUpdated":
                q.dates.append(parse_date(value))
            elif name == "status":
                q.statuses = (q.statuses or set()) | {v for v in value.split(",") if v}
            else:  # patient / subject
                refs = set()
                for v in value.split(","):
                    if "/" in v:
                        rtype, _, fid = v.partition("/")
                    else:
                        rtype, fid = "Patient", v
                    if name == "patient" and rtype != "Patient":
                        raise SearchError(f"patient={v!r}: a patient reference is Patient/<id>")
                    if rtype not in ("Patient", "Device"):
                        raise SearchError(f"{name}={v!r}: Navet's subjects are Patient or Device")
                    refs.add(f"{rtype}/{fid}")
                q.references = refs if q.references is None else q.references & refs
        if q.references is not None and len(q.references) == 1:
            [only] = q.references
            if only.startswith("Patient/"):
                q.resident = resident_of(only.split("/", 1)[1]) or "\x00unknown"
        return q

    def paging(self, count: str | None, offset: str | None) -> None:
        try:
            c = DEFAULT_COUNT if count is None else int(count)
            o = 0 if offset is None else int(offset)
        except ValueError as err:
            raise SearchError(f"_count and _offset must be whole numbers: {err}") from err
        if not 0 <= c <= MAX_COUNT or not 0 <= o <= MAX_OFFSET:
            raise SearchError(f"_count must be 0..{MAX_COUNT} and _offset 0..{MAX_OFFSET}")
        self.count, self.offset = c, o

    def matches(self, res: dict[str, Any]) -> bool:
        if self.ids is not None and res.get("id") not in self.ids:
            return False
        if self.references is not None:
            path = PATIENT_PATH.get(self.resource_type)
            target = (res.get(path) or {}).get("reference") if path else None
            if target not in self.references:
                return False
        if self.statuses is not None and _status(res) not in self.statuses:
            return False
        if self.dates:
            updated = (res.get("meta") or {}).get("lastUpdated")
            if updated is None:
                return False
            t = datetime.fromisoformat(updated.replace("Z", "+00:00"))
            for prefix, start, end in self.dates:
                ok = {"eq": start <= t < end, "gt": t >= end, "ge": t >= start,
                      "lt": t < start, "le": t < end}[prefix]
                if not ok:
                    return False
        return True


def _status(res: dict[str, Any]) -> str | None:
    status = res.get("status")
    if isinstance(status, dict):  # DeviceAssociation.status is a CodeableConcept
        codes = [c.get("code") for c in status.get("coding", [])]
        return codes[0] if codes else None
    return status


__all__ = ["SearchError", "SearchQuery", "fhir_id", "parse_date", "search_params"]
