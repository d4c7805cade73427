"""One item of a tenant's care configuration at a time: add, change, remove.

What the resource API (``/api/v1/residents``, ``/devices``, ``/consents``, ...) does, as
care documents: each change is turned into the document that says the same thing and
applied by :func:`gateway.core.care.apply.apply_care_document`, in the transaction that
read what is stored. So one item changed here is stored exactly as the same change in a
care file or ``POST /api/v1/config`` would store it, validated by the same models and
checks, with personal numbers sealed the same way:

- **add**: a document giving the item; refused if its key is stored already;
- **change**: the stored item with the given fields replaced (``null`` clears one),
  validated whole, given as a document; its key cannot change;
- **remove**: the list replaced by itself without the item. A resident who still has
  devices, plans, consents, ... is refused, naming them, unless ``cascade``: then those
  are removed with the resident, and the resident's devices unassigned (kept, with no
  resident: a device is hardware that will be placed with someone else).
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, ValidationError

from gateway.errors import ConfigError

from ..directory import DeviceDirectory
from ..security.pii import PiiCipher
from ..security.tokens import Principal
from ..store import DbConnection, Store
from .apply import Applied, apply_care_document
from .merge import KEYS
from .models import (
    CareConfig,
    Consent,
    Device,
    Geofence,
    PassiveRules,
    Plan,
    Relative,
    Resident,
    Staff,
    SupervisionSchedule,
)
from .rows import StoredTenant, stored_tenant

Item = dict[str, Any]

MODELS: Final[dict[str, type[BaseModel]]] = {
    "residents": Resident,
    "devices": Device,
    "plans": Plan,
    "staff": Staff,
    "consents": Consent,
    "relatives": Relative,
    "geofences": Geofence,
    "supervision": SupervisionSchedule,
    "passive": PassiveRules,
}
"""Every list of a tenant and the model of one item (its key: :data:`merge.KEYS`)."""

SINGULAR: Final = {"residents": "resident", "devices": "device", "plans": "plan",
                   "staff": "staff member", "consents": "consent", "relatives": "relative",
                   "geofences": "geofence", "supervision": "camera schedule",
                   "passive": "passive rules"}

DEPENDENTS: Final = ("devices", "plans", "consents", "supervision", "relatives", "geofences",
                     "passive")
"""The lists whose items name a resident."""


class ItemNotFoundError(ConfigError):
    """The tenant has no such item (or no care configuration at all)."""


class ItemExistsError(ConfigError):
    """An item with this key is stored already."""


class ItemInUseError(ConfigError):
    """A resident still has devices, plans, consents, ... and removing was not cascaded."""


class ItemInvalidError(ConfigError):
    """The item, with the change applied, is invalid; ``errors`` name each field."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.errors = errors


async def add_care_item(store: Store, directory: DeviceDirectory, cipher: PiiCipher | None,
                        *, tenant: str, name: str, item: BaseModel,
                        principal: Principal | None = None) -> Applied:
    """Add ``item`` (a validated model of list ``name``) to ``tenant``.

    :raises ItemNotFoundError: the tenant has no care configuration yet.
    :raises ItemExistsError: an item with its key is stored.
    :raises ConfigError: the tenant with it is invalid (a resident it names is unknown).
    """
    key = KEYS[name](item.model_dump(mode="json"))

    def document(conn: DbConnection) -> CareConfig:
        stored = _stored(conn, tenant)
        if _find(stored, name, key) is not None:
            raise ItemExistsError(f"tenant {tenant}: {SINGULAR[name]} {key} exists; change it "
                                  "with PATCH")
        return _document(stored, {name: [item]})

    return await apply_care_document(document, store, directory, cipher, principal=principal)


async def change_care_item(store: Store, directory: DeviceDirectory, cipher: PiiCipher | None,
                           *, tenant: str, name: str, key: str, change: Item,
                           principal: Principal | None = None) -> Applied:
    """Change the fields ``change`` gives of item ``key`` of list ``name`` (``None`` clears).

    :raises ItemNotFoundError: no such item.
    :raises ItemInvalidError: the item with the change is invalid, or its key would change.
    :raises ConfigError: the tenant with it is invalid (a resident it names is unknown).
    """

    def document(conn: DbConnection) -> CareConfig:
        stored = _stored(conn, tenant)
        found = _find(stored, name, key)
        if found is None:
            raise ItemNotFoundError(f"tenant {tenant} has no {SINGULAR[name]} {key}")
        merged = {**found, **change}
        try:
            item = MODELS[name].model_validate(merged)
        except ValidationError as err:
            raise ItemInvalidError(f"{SINGULAR[name]} {key} is invalid", [
                {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                for e in err.errors()]) from err
        if KEYS[name](item.model_dump(mode="json")) != key:
            fields = [f for f in ("id", "adapter", "address", "resident")
                      if f in change and change[f] != found.get(f)]
            raise ItemInvalidError(
                f"{SINGULAR[name]} {key}: {', '.join(fields)} identifies it and cannot change; "
                "add a new one and remove this one instead",
                [{"loc": [f], "msg": "identifies the item and cannot change",
                  "type": "value_error"} for f in fields])
        return _document(stored, {name: [item]})

    return await apply_care_document(document, store, directory, cipher, principal=principal)


async def remove_care_item(store: Store, directory: DeviceDirectory, cipher: PiiCipher | None,
                           *, tenant: str, name: str, key: str, cascade: bool = False,
                           principal: Principal | None = None) -> Applied:
    """Remove item ``key`` of list ``name``; a resident with everything that names them
    when ``cascade`` (their devices are unassigned, not removed).

    :raises ItemNotFoundError: no such item.
    :raises ItemInUseError: a resident others still name, without ``cascade``.
    """

    def document(conn: DbConnection) -> CareConfig:
        stored = _stored(conn, tenant)
        if _find(stored, name, key) is None:
            raise ItemNotFoundError(f"tenant {tenant} has no {SINGULAR[name]} {key}")
        lists: dict[str, list[Any]] = {
            name: [i for i in stored.doc.get(name, []) if KEYS[name](i) != key]}
        if name == "residents":
            naming = {n: [i for i in stored.doc.get(n, []) if i.get("resident") == key]
                      for n in DEPENDENTS}
            naming = {n: items for n, items in naming.items() if items}
            if naming and not cascade:
                said = "; ".join(f"{n} {', '.join(KEYS[n](i) for i in items)}"
                                 for n, items in naming.items())
                raise ItemInUseError(
                    f"tenant {tenant}: resident {key} still has {said}; remove or reassign "
                    "them first, or remove with cascade=true")
            for n, items in naming.items():
                if n == "devices":  # kept, unassigned: merged, not replaced
                    lists[n] = [{**i, "resident": None} for i in items]
                else:
                    lists[n] = [i for i in stored.doc.get(n, []) if i.get("resident") != key]
        replace = [n for n in lists if n != "devices" or name == "devices"]
        return _document(stored, lists, replace)

    done = await apply_care_document(document, store, directory, cipher, principal=principal)
    # what remains of a replaced list is rewritten unchanged: only the unassigned devices
    # of a cascade were changed
    unassigned = done.written["devices"] if name == "residents" else 0
    done.written = {k: 0 for k in done.written} | {"tenants": done.written["tenants"],
                                                  "devices": unassigned}
    return done


async def set_team(store: Store, directory: DeviceDirectory, *, tenant: str, team: str,
                   members: list[str], principal: Principal | None = None) -> Applied:
    """Make ``members`` (staff ids) exactly the members of ``team``: each gains the team,
    every other member of staff loses it. A team is not a list of its own; it is what its
    members' ``teams`` say, so this is a change of those staff items.

    :raises ItemNotFoundError: the tenant has no care configuration.
    :raises ItemInvalidError: a member is not the tenant's staff.
    """

    def document(conn: DbConnection) -> CareConfig:
        stored = _stored(conn, tenant)
        staff = stored.doc.get("staff", [])
        unknown = sorted(set(members) - {s["id"] for s in staff})
        if unknown:
            raise ItemInvalidError(
                f"tenant {tenant} has no staff {', '.join(unknown)}",
                [{"loc": ["members", members.index(u)], "msg": f"no staff member {u}",
                  "type": "value_error"} for u in unknown])
        changed = []
        for member in staff:
            teams = list(member.get("teams", []))
            now = [*teams, team] if member["id"] in members and team not in teams else \
                teams if member["id"] in members else [t for t in teams if t != team]
            if now != teams:
                changed.append({"id": member["id"], "teams": now})
        return _document(stored, {"staff": changed})

    return await apply_care_document(document, store, directory, principal=principal)


async def remove_team(store: Store, directory: DeviceDirectory, *, tenant: str, team: str,
                      principal: Principal | None = None) -> Applied:
    """Take ``team`` from every member of staff.

    :raises ItemNotFoundError: no member of staff is in the team.
    :raises ItemInUseError: visits of plans still name the team.
    """

    def document(conn: DbConnection) -> CareConfig:
        stored = _stored(conn, tenant)
        members = [s for s in stored.doc.get("staff", []) if team in s.get("teams", [])]
        if not members:
            raise ItemNotFoundError(f"tenant {tenant} has no team {team}")
        plans = [p["id"] for p in stored.doc.get("plans", [])
                 if any(v.get("team") == team for v in p.get("visits", []))]
        if plans:
            raise ItemInUseError(f"tenant {tenant}: visits of plans {', '.join(plans)} "
                                 f"name team {team}; change them first")
        return _document(stored, {"staff": [
            {"id": s["id"], "teams": [t for t in s["teams"] if t != team]} for s in members]})

    return await apply_care_document(document, store, directory, principal=principal)


def teams(conn: DbConnection, tenant: str) -> dict[str, list[str]] | None:
    """Team -> its members' staff ids, from the staff of ``tenant`` (None: not configured)."""
    staff = care_items(conn, tenant, "staff")
    if staff is None:
        return None
    out: dict[str, list[str]] = {}
    for member in staff:
        for team in member.get("teams", []):
            out.setdefault(team, []).append(member["id"])
    return dict(sorted(out.items()))


def care_items(conn: DbConnection, tenant: str, name: str) -> list[Item] | None:
    """The stored items of list ``name`` of ``tenant`` (None: no care configuration)."""
    stored = stored_tenant(conn, tenant, Device.model_fields)
    return None if stored is None else list(stored.doc.get(name, []))


def _stored(conn: DbConnection, tenant: str) -> StoredTenant:
    stored = stored_tenant(conn, tenant, Device.model_fields)
    if stored is None:
        raise ItemNotFoundError(f"tenant {tenant} has no care configuration yet; give it one "
                                "with POST /api/v1/config or a care file")
    return stored


def _find(stored: StoredTenant, name: str, key: str) -> Item | None:
    return next((i for i in stored.doc.get(name, []) if KEYS[name](i) == key), None)


def _document(stored: StoredTenant, lists: dict[str, list[Any]],
              replace: list[str] | None = None) -> CareConfig:
    """The care document giving ``lists`` for the stored tenant (validated like a file)."""
    tenant = {"id": stored.doc["id"], "name": stored.doc["name"], **lists,
              "replace": replace or []}
    try:
        return CareConfig.model_validate({"tenants": [tenant]})
    except ValidationError as err:  # stored items that no longer validate: say so
        raise ConfigError(f"tenant {stored.doc['id']}: what is stored is invalid:\n{err}") \
            from err
