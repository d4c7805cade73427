"""The administrator's screens, described once: which ``/api/v1`` list each resource
reads, how an item is written, its columns and its form's fields.

One generic editor (``gateway/web/admin.js``: a table and a form) runs every resource
from this description, so residents, devices, consents, visit plans, camera schedules,
staff, teams, subscriptions and adapters look and behave alike. The choices a field
offers come from the care configuration's own types (sex, housing, technologies, device
kinds, ...), so the form never offers what the API would refuse. Field labels are
``field.<name>`` in the message catalogue, choices ``opt.<set>.<value>``; the API
validates every write exactly like a care configuration file, and the editor shows its
answer (422 naming the field, 403, 404, 409) beside the form.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, get_args

from gateway.core.care import TECHNOLOGIES
from gateway.core.care.followup import Housing, Sex
from gateway.core.care.models import ConsentPurpose, StaffRole, Weekday
from gateway.core.model import DeviceKind, Priority

FieldType = Literal["text", "secret", "number", "select", "ref", "date", "datetime", "time",
                    "days", "checks", "words", "list"]

OPTIONS: Final[dict[str, tuple[str, ...]]] = {
    "sex": get_args(Sex),
    "housing": get_args(Housing),
    "technology": TECHNOLOGIES,
    "kind": tuple(str(k) for k in DeviceKind),
    "purpose": get_args(ConsentPurpose),
    "staffrole": get_args(StaffRole),
    "day": get_args(Weekday),
    "priority": tuple(str(p) for p in Priority),
}
"""Choice sets and their values, straight from the care configuration's types."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # as in the API's body; "settings.url" is nested
    type: FieldType = "text"
    required: bool = False
    key: bool = False  # identifies the item: shown, not changed, when editing
    options: str | None = None  # a set of OPTIONS (select, checks, days)
    ref: str | None = None  # ref: the resource whose keys it offers (residents, staff)
    fields: tuple[Field, ...] = ()  # list: one row's fields
    max_length: int | None = None
    placeholder: str | None = None  # a message key


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    format: str = "text"  # text, option:<set>, option_list:<set>, resident, given_by,
    #                       grants, list, windows, duty, visits, health, validity, delivery,
    #                       running, adapter_health (admin.js: cell)


@dataclass(frozen=True, slots=True)
class Resource:
    name: str  # path segment of the screen, key of its messages (admin.<name>.*)
    list: str  # GET, with ?tenant=
    key: tuple[str, ...]  # fields that make the item's key (devices: adapter, address)
    columns: tuple[Column, ...]
    fields: tuple[Field, ...] = ()
    write: Literal["items", "team", "create", "none"] = "items"
    # items: POST list, PATCH/DELETE list/{key}; team: PUT/DELETE list/{key}; create: POST
    unassign: bool = False  # devices: PATCH {"resident": null}
    cascade: bool = False  # residents: DELETE ?cascade=true when others name them
    health: bool = False  # devices: battery reports from the event log

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


DAYS_WINDOW = (Field("days", "days", required=True, options="day"),
               Field("start", "time", required=True), Field("end", "time", required=True))

RESOURCES: Final[tuple[Resource, ...]] = (
    Resource(
        "residents", "/api/v1/residents", ("id",),
        (Column("id"), Column("label"), Column("sex", "option:sex"), Column("birth_year"),
         Column("housing", "option:housing"), Column("grants", "grants"),
         Column("devices", "list")),
        (Field("id", required=True, key=True, max_length=64),
         Field("label", max_length=120, placeholder="admin.hint.label"),
         Field("sex", "select", options="sex"),
         Field("birth_year", "number"),
         Field("housing", "select", options="housing"),
         Field("personal_number", max_length=13, placeholder="admin.hint.personal_number"),
         Field("grants", "list", fields=(
             Field("technology", "select", required=True, options="technology"),
             Field("granted", "date", required=True), Field("ended", "date"),
             Field("decision", max_length=200, placeholder="admin.hint.decision")))),
        cascade=True),
    Resource(
        "devices", "/api/v1/devices", ("adapter", "address"),
        (Column("id"), Column("kind", "option:kind"), Column("resident", "resident"),
         Column("location"), Column("health", "health")),
        (Field("adapter", required=True, key=True), Field("address", required=True, key=True),
         Field("kind", "select", required=True, options="kind"),
         Field("resident", "ref", ref="residents"),
         Field("location", max_length=120), Field("vendor"), Field("model"),
         Field("heartbeat_s", "number")),
        unassign=True, health=True),
    Resource(
        "consents", "/api/v1/consents", ("id",),
        (Column("id"), Column("resident", "resident"), Column("purpose", "option:purpose"),
         Column("given_by", "given_by"), Column("validity", "validity"), Column("legal_basis")),
        (Field("id", required=True, key=True, max_length=64),
         Field("resident", "ref", required=True, ref="residents"),
         Field("purpose", "select", required=True, options="purpose"),
         Field("given_by", placeholder="admin.hint.given_by"),
         Field("valid_from", "datetime", required=True), Field("valid_to", "datetime"),
         Field("withdrawn", "datetime"),
         Field("legal_basis", required=True, max_length=200,
               placeholder="admin.hint.legal_basis"))),
    Resource(
        "relatives", "/api/v1/relatives", ("id",),
        (Column("id"), Column("resident", "resident"), Column("label"), Column("channel")),
        (Field("id", required=True, key=True, max_length=64),
         Field("resident", "ref", required=True, ref="residents"),
         Field("label", max_length=120, placeholder="admin.hint.relative"),
         Field("channel", max_length=200, placeholder="admin.hint.channel"))),
    Resource(
        "plans", "/api/v1/plans", ("id",),
        (Column("id"), Column("resident", "resident"), Column("visits", "visits")),
        (Field("id", required=True, key=True, max_length=64),
         Field("resident", "ref", required=True, ref="residents"),
         Field("visits", "list", fields=(*DAYS_WINDOW, Field("team"), Field("staff"),
                                          Field("note", max_length=200))))),
    Resource(
        "supervision", "/api/v1/supervision", ("resident",),
        (Column("resident", "resident"), Column("windows", "windows"), Column("max_session_s")),
        (Field("resident", "ref", required=True, key=True, ref="residents"),
         Field("windows", "list", fields=DAYS_WINDOW),
         Field("max_session_s", "number"))),
    Resource(
        "staff", "/api/v1/staff", ("id",),
        (Column("id"), Column("label"), Column("roles", "option_list:staffrole"),
         Column("teams", "list")),
        (Field("id", required=True, key=True, max_length=64), Field("label", max_length=120),
         Field("roles", "checks", options="staffrole"),
         Field("teams", "words", placeholder="admin.hint.words"))),
    Resource(
        "teams", "/api/v1/teams", ("id",),
        (Column("id"), Column("members", "list")),
        (Field("id", required=True, key=True, max_length=64),
         Field("members", "checks", ref="staff")),
        write="team"),
    Resource(
        "subscriptions", "/api/v1/subscriptions", ("id",),
        (Column("id"), Column("sink"), Column("types", "list"), Column("running", "running"),
         Column("delivery", "delivery")),
        (Field("id", key=True, max_length=64, placeholder="admin.hint.generated"),
         Field("settings.url", required=True, placeholder="admin.hint.url"),
         Field("settings.secret", "secret", required=True, placeholder="admin.hint.secret"),
         Field("types", "words", placeholder="admin.hint.types")),
        write="create"),
    Resource(
        "routing", "/api/v1/routing", ("name",),
        (Column("name"), Column("types", "list"), Column("kinds", "list"),
         Column("priorities", "option_list:priority"), Column("to"),
         Column("when", "duty"), Column("fallback")),
        write="none"),
    Resource(
        "adapters", "/api/v1/adapters", ("id",),
        (Column("id"), Column("adapter"), Column("vendor"), Column("device_kinds",
                                                                   "option_list:kind"),
         Column("running", "running"), Column("health", "adapter_health")),
        write="none"),
)

BY_NAME: Final = {r.name: r for r in RESOURCES}


def message_keys() -> set[str]:
    """Every catalogue key the descriptions make the editor ask for."""
    keys: set[str] = set()
    for r in RESOURCES:
        keys |= {f"admin.{r.name}.title", f"admin.{r.name}.lead", f"nav.admin.{r.name}"}
        if r.write != "none":
            keys |= {f"admin.{r.name}.add", f"admin.{r.name}.one"}
        keys |= {f"column.{c.name}" for c in r.columns}
        stack = list(r.fields)
        while stack:
            f = stack.pop()
            keys.add(f"field.{f.name}")
            if f.placeholder:
                keys.add(f.placeholder)
            stack.extend(f.fields)
    for name, values in OPTIONS.items():
        keys |= {f"opt.{name}.{v}" for v in values}
    return keys


