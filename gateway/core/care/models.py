"""The care configuration document: tenants, residents, devices, plans, staff, consents,
schedules; reading a file of it, and reading a tenant's stored configuration back."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.errors import ConfigError, describe_invalid

from ..directory import device_id
from ..geo import GeoJsonArea
from ..model import DeviceKind, Location, Priority
from ..model.common import Pseudonym, TenantId
from ..security.pii import normalise_personal_number
from ..store import Store
from .followup import FollowupSettings, Grant, Housing, Sex, check_grants

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resident(_Model):
    id: Pseudonym
    label: str = Field(default="", max_length=120, description="Non-identifying, e.g. 'Lgh 1102'.")
    home: Location | None = None
    personal_number: str | None = Field(
        default=None, exclude=True, repr=False,
        description="Write-only: the personnummer (YYYYMMDD-NNNN), stored only encrypted "
        "(AES-256-GCM), never returned, never in an event. Omitted: the stored one is kept.")

    sex: Sex | None = Field(default=None, description="female or male, for sex-disaggregated "
                            "follow-up (docs/followup.md).")
    birth_year: int | None = Field(default=None, ge=1880, le=2100,
                                   description="For age bands in follow-up; never a date.")
    housing: Housing | None = Field(
        default=None, description="ordinary (own home, incl. trygghetsboende) or special "
        "(särskilt boende, SÄBO).")
    grants: list[Grant] = Field(
        default_factory=list, description="Grant decisions per technology with their dates; "
        "given, the list replaces the stored one.")

    @field_validator("personal_number")
    @classmethod
    def _personal_number(cls, value: str | None) -> str | None:
        return None if value is None else normalise_personal_number(value)

    @field_validator("grants")
    @classmethod
    def _grants(cls, value: list[Grant]) -> list[Grant]:
        check_grants(value)
        return value


DeviceRole = Literal["bed", "chair", "door", "motion", "leak", "fall", "other"]
"""What a passive sensor watches; the passive-alarm rules read its readings by role."""


def role_from_address(address: str) -> str | None:
    """The role an address ends in after its last ``_`` (``r1001_bed`` -> ``bed``), if any."""
    head, sep, tail = address.rpartition("_")
    return tail if sep and head and tail in get_args(DeviceRole) and tail != "other" else None


class Device(_Model):
    adapter: str
    address: str = Field(description="The device's address at its vendor (topic name, serial).")
    kind: DeviceKind
    resident: Pseudonym | None = None
    heartbeat_s: int | None = Field(default=None, ge=1, description="Expected heartbeat interval.")
    heartbeat_tolerance_s: int | None = Field(
        default=None, ge=1,
        description="Silence after which the unit is reported silent; default: the tenant's "
        "alarms.heartbeat_tolerance x the interval.",
    )
    vendor: str | None = None
    model: str | None = None
    location: str | None = Field(default=None, max_length=120, description="e.g. 'Bedroom'.")
    role: DeviceRole | None = Field(
        default=None, description="What a passive sensor watches (bed, chair, door, motion, "
        "leak, fall, other); default: the address suffix after its last '_', if it is one.",
    )

    @model_validator(mode="after")
    def _default_role(self) -> Device:
        if self.role is None:
            given = "role" in self.model_fields_set
            self.role = role_from_address(self.address)  # type: ignore[assignment]  # checked
            if not given:  # derived, not written by the author: a merge must keep the stored
                self.__pydantic_fields_set__.discard("role")  # role rather than take this
        return self

    @property
    def id(self) -> str:
        return device_id(self.adapter, self.address)


class Visit(_Model):
    days: list[Weekday]
    start: time
    end: time
    team: str | None = None
    staff: str | None = None
    note: str | None = Field(default=None, max_length=200)


class MedicationPlan(_Model):
    """Who hears of a missed dose, and when a dose counts as missed (rules/medication.py)."""

    receivers: list[str] = Field(
        default_factory=list,
        description="Receiver chain for a missed dose, e.g. ['team-norr', 'centre', "
        "'relatives']: the first at once, each next one when not acknowledged in time. "
        "'relatives' / 'relative:<id>' only while a notify_relatives consent is valid. "
        "Empty: the tenant's alarms.receivers.",
    )
    window_s: int = Field(default=3600, ge=60, le=86_400,
                          description="How long after its time a dose may still be taken.")
    grace_s: int = Field(default=300, ge=0, le=86_400,
                         description="Extra wait for the vendor's own report before Navet "
                         "decides a dose was missed.")
    ack_deadline_s: int | None = Field(default=None, ge=1,
                                       description="Per level; default: the tenant's.")
    priority: Priority = Priority.NORMAL


class Plan(_Model):
    id: str
    resident: Pseudonym
    visits: list[Visit] = Field(default_factory=list)
    medication: MedicationPlan | None = None


StaffRole = Literal["home_care", "night_supervision", "nurse", "alarm_operator", "admin"]


class Staff(_Model):
    """A member of staff, by a local pseudonymous id (never a personal number)."""

    id: str = Field(min_length=1, max_length=64)
    label: str = Field(default="", max_length=120, description="e.g. 'Undersköterska, team norr'.")
    roles: list[StaffRole] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)


ConsentPurpose = Literal["camera_supervision", "notify_relatives"]


class Consent(_Model):
    """A consent given for one purpose, by the resident or a cohabitant, with its validity.

    ``given_by`` is ``resident`` or ``cohabitant:<label>``; camera supervision in a
    shared home needs every cohabitant's consent as well as the resident's.
    """

    id: str = Field(min_length=1, max_length=64)
    resident: Pseudonym
    purpose: ConsentPurpose
    given_by: str = Field(default="resident", pattern=r"^(resident|cohabitant:[^\s].{0,63})$")
    valid_from: datetime
    valid_to: datetime | None = None
    withdrawn: datetime | None = None
    legal_basis: str = Field(
        min_length=1, max_length=200,
        description="Where the consent is documented and on what basis, e.g. "
        "'samtycke, SoL; beslut 2026-123'.",
    )

    def valid_at(self, when: datetime) -> bool:
        if self.withdrawn is not None and when >= self.withdrawn:
            return False
        return self.valid_from <= when and (self.valid_to is None or when < self.valid_to)


class TimeWindow(_Model):
    """Local wall-clock window on some weekdays; ``end`` before ``start`` runs past midnight."""

    days: list[Weekday]
    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        """Whether wall-clock ``local`` (the tenant's time) is inside this window.

        A window whose end is before its start runs past midnight and belongs to the
        day it starts on (``mon 22:00-07:00`` covers Monday night into Tuesday
        morning); start equal to end means the whole day. Routing, camera schedules
        and geofence windows all read windows this way.
        """
        day = _WEEKDAYS[local.weekday()]
        yesterday = _WEEKDAYS[(local.weekday() - 1) % 7]
        t = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return day in self.days
        if self.start < self.end:
            return day in self.days and self.start <= t < self.end
        return (day in self.days and t >= self.start) or (
            yesterday in self.days and t < self.end)



def in_window(window: TimeWindow, local: datetime) -> bool:
    """Whether ``local`` is inside ``window``: the one reading of a window Navet has
    (routing, camera schedules, geofences, passive-alarm nights). An aware time is
    read as wall-clock time where it is; give the tenant's local time."""
    return window.contains(local)


class SupervisionSchedule(_Model):
    """When a resident may be supervised by camera at night, and for how long at a time."""

    resident: Pseudonym
    windows: list[TimeWindow] = Field(default_factory=list)
    max_session_s: int = Field(default=120, ge=10, le=1800)


class Relative(_Model):
    """A relative who may be notified, only while a notify_relatives consent is valid."""

    id: str = Field(min_length=1, max_length=64)
    resident: Pseudonym
    label: str = Field(default="", max_length=120)
    channel: str = Field(default="", max_length=200, description="Where to notify (webhook id).")


class Geofence(_Model):
    """An area a GPS-alarm wearer is expected to stay in (gateway/core/rules/geofence.py).

    ``geometry`` is a GeoJSON Polygon or MultiPolygon in WGS-84. ``windows`` are when
    leaving it raises ``gps.geofence_exit`` (local time; none = always). A ``home`` fence
    also decides whether an SOS press is at home (``personal_button``) or outside
    (``gps.panic_outside``), at any hour. See docs/alarm-rules.md, "Geofences".
    """

    id: str = Field(min_length=1, max_length=64)
    resident: Pseudonym
    name: str = Field(default="", max_length=120, description="e.g. 'Hemma', 'Kvarteret'.")
    kind: Literal["home", "allowed"] = "allowed"
    geometry: GeoJsonArea
    windows: list[TimeWindow] = Field(default_factory=list)
    margin_m: float = Field(
        default=25, ge=0, le=2000,
        description="A fix counts as outside only when it is farther out than its own "
        "accuracy plus this margin.",
    )


EVERY_DAY: list[Weekday] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class PassiveRules(_Model):
    """Passive alarms for one resident (gateway/core/rules/passive.py; docs/municipalities.md).

    Windows are local wall-clock time in the tenant's timezone. Water leak and fall alarms
    also apply to residents without an entry; the others only with one.
    """

    resident: Pseudonym
    night: TimeWindow = Field(
        default_factory=lambda: TimeWindow(days=EVERY_DAY, start=time(22), end=time(7)),
        description="When bed/chair exits and opened doors raise alarms.",
    )
    bed_exit: bool = True
    chair_exit: bool = True
    exit_return_s: int = Field(default=900, ge=30, le=6 * 3600,
                               description="Out of bed/chair at night this long: alarm.")
    door_at_night: bool = True
    no_activity: bool = True
    day: TimeWindow = Field(
        default_factory=lambda: TimeWindow(days=EVERY_DAY, start=time(7), end=time(22)),
        description="When no activity is watched; silence counts only inside this window.",
    )
    no_activity_s: int = Field(default=4 * 3600, ge=300, le=24 * 3600,
                               description="No activity this long by day: alarm.")
    water_leak: bool = True
    fall: bool = True

    @model_validator(mode="after")
    def _fits_the_day(self) -> PassiveRules:
        start = self.day.start.hour * 3600 + self.day.start.minute * 60 + self.day.start.second
        end = self.day.end.hour * 3600 + self.day.end.minute * 60 + self.day.end.second
        length = (end - start) % 86400 or 86400
        if self.no_activity and self.no_activity_s > length:
            raise ValueError(f"no_activity_s {self.no_activity_s} is longer than the day window "
                             f"({length} s): the alarm could never be raised")
        return self


class AlarmSettings(_Model):
    """How a tenant's alarms escalate and how long its devices may stay silent."""

    receivers: list[str] = Field(
        default_factory=list,
        description="Receiver chain: the first gets every alarm; each next one in turn when "
        "the alarm is not acknowledged within ack_deadline_s.",
    )
    ack_deadline_s: int = Field(default=120, ge=1, description="Time to acknowledge per level.")
    escalate: list[Priority] = Field(
        default_factory=lambda: [Priority.CRITICAL, Priority.HIGH, Priority.NORMAL],
        description="Priorities that escalate; an alarm without priority counts as normal.",
    )
    heartbeat_tolerance: float = Field(
        default=2.5, ge=1.0, description="A unit is silent after this many heartbeat intervals."
    )


class LockSettings(_Model):
    """How long before and after a planned visit staff may open the resident's door."""

    grace_before_s: int = Field(default=900, ge=0, le=4 * 3600,
                                description="A door opens this long before the visit starts.")
    grace_after_s: int = Field(default=900, ge=0, le=4 * 3600,
                               description="... and this long after it was planned to end.")


ListName = Literal["residents", "devices", "plans", "staff", "consents", "supervision",
                   "relatives", "geofences", "passive"]
"""The lists of a tenant (gateway/core/care/merge.py says what identifies an item in each)."""


class Tenant(_Model):
    id: TenantId
    name: str
    alarms: AlarmSettings = Field(default_factory=AlarmSettings)
    residents: list[Resident] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    timezone: str = Field(default="Europe/Stockholm",
                          description="Plans, schedules and windows are in this local time.")
    staff: list[Staff] = Field(default_factory=list)
    consents: list[Consent] = Field(default_factory=list)
    supervision: list[SupervisionSchedule] = Field(default_factory=list)
    relatives: list[Relative] = Field(default_factory=list)
    geofences: list[Geofence] = Field(default_factory=list)
    passive: list[PassiveRules] = Field(default_factory=list)
    locks: LockSettings = Field(default_factory=LockSettings)
    followup: FollowupSettings = Field(
        default_factory=FollowupSettings,
        description="Baseline, the municipality's own targets and yearly denominators for "
        "follow-up (docs/followup.md); merged like the rest: targets by indicator id, "
        "statistics by year.")
    replace: list[ListName] = Field(
        default_factory=list,
        description="How to apply this document, not stored: the lists named here become "
        "exactly what the document gives (stored items it leaves out are removed; a list "
        "named but not given is emptied). Every other list merges item by item on its key, "
        "and fields left out keep their stored values.",
    )


class CareConfig(_Model):
    tenants: list[Tenant]


def load_care_config(path: str | Path) -> CareConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        raw: Any = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"cannot read care configuration {file}: {err}") from err
    try:
        return CareConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"care configuration {file} is invalid: {describe_invalid(err)}") \
            from err


def tenant_care(store: Store, tenant: str) -> Tenant | None:
    """The tenant's stored care configuration as a model (None if unknown).

    Rules and policies read it through here, so a file load and an API update
    are seen the same way. Residents, devices and plans come from their tables.
    """
    rows = store.rows("tenants", tenant)
    if not rows:
        return None
    body = json.loads(rows[0]["body"] or "{}")
    body.setdefault("name", rows[0]["name"])
    residents = [
        Resident.model_validate({"id": r["id"], **_public(json.loads(r["body"] or "{}"))})
        for r in store.rows("residents", tenant)
    ]
    plans = [Plan.model_validate_json(r["body"]) for r in store.rows("plans", tenant)]
    return Tenant.model_validate({**body, "id": tenant, "residents": residents, "plans": plans})


def _public(body: dict[str, Any]) -> dict[str, Any]:
    """A stored resident body without its encrypted personal data."""
    return {k: v for k, v in body.items() if k != "personal_number_enc"}
