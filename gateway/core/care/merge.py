"""What a care document does to what is stored: it merges, and replaces only when asked.

A care document (a file named in ``care_config``, or the body of ``POST /api/v1/config``)
is applied to the stored configuration of each tenant it names:

- a tenant field the document leaves out keeps its stored value; ``alarms`` and
  ``locks`` merge field by field, ``followup`` too (its ``targets`` by indicator id,
  its ``statistics`` by year);
- the lists (see :data:`KEYS`) merge item by item on each item's key: an item with a new
  key is added; an item whose key is stored updates only the fields it gives (an explicit
  ``null`` clears one); an item the document leaves out stays as it is;
- a list the tenant names in ``replace`` becomes exactly what the document gives, an
  empty list if it gives none: stored items it leaves out are removed.

So a partial document never deletes what its author did not mention, and deleting is
always something the author wrote down. Why not replace by default: a document with one
new staff member would otherwise empty the staff list, and with it every door the others
may open (the attack that found this emptied another municipality's staff list).

Pure functions on JSON-shaped dicts (``model_dump(mode="json", exclude_unset=True)`` of
the document, the stored rows as dicts); :func:`gateway.core.care.apply_care_config`
reads what is stored and writes the result in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Final

from gateway.errors import ConfigError

from ..directory import device_id
from .followup import merge_followup

Item = dict[str, Any]

KEYS: Final[dict[str, Callable[[Item], str]]] = {
    "residents": lambda item: str(item["id"]),
    "devices": lambda item: device_id(str(item["adapter"]), str(item["address"])),
    "plans": lambda item: str(item["id"]),
    "staff": lambda item: str(item["id"]),
    "consents": lambda item: str(item["id"]),
    "relatives": lambda item: str(item["id"]),
    "geofences": lambda item: str(item["id"]),
    "supervision": lambda item: str(item["resident"]),  # one schedule per resident
    "passive": lambda item: str(item["resident"]),  # one set of passive rules per resident
}
"""Every list of a tenant, and what identifies an item in it."""

OBJECTS: Final = frozenset({"alarms", "locks"})
"""Settings objects of a tenant, merged field by field."""


def check_unique(tenant: str, name: str, items: list[Item]) -> None:
    """:raises ConfigError: two items of one list have the same key."""
    key = KEYS[name]
    seen: set[str] = set()
    for item in items:
        k = key(item)
        if k in seen:
            raise ConfigError(f"tenant {tenant}: {name} {k!r} is given twice")
        seen.add(k)


def merge_list(name: str, stored: list[Item], given: list[Item]) -> list[Item]:
    """``stored`` with each item of ``given`` added, or merged into the stored item of its key."""
    key = KEYS[name]
    out: dict[str, Item] = {key(item): item for item in stored}
    for item in given:
        k = key(item)
        out[k] = {**out[k], **item} if k in out else item
    return list(out.values())


def merge_tenant(stored: Item | None, given: Item, replace: Collection[str]) -> Item:
    """The tenant as it is after applying ``given`` (only what the document set) to
    ``stored`` (None: a new tenant), replacing the lists named in ``replace``."""
    tenant = str(given.get("id", "?"))
    for name in KEYS:
        check_unique(tenant, name, given.get(name, []))
    out: Item = dict(stored or {})
    for field, value in given.items():
        if field in KEYS:
            out[field] = value if field in replace else merge_list(
                field, out.get(field, []), value)
        elif field == "followup" and isinstance(value, dict):
            out[field] = merge_followup(out.get(field), value)
        elif field in OBJECTS and isinstance(value, dict):
            out[field] = {**(out.get(field) or {}), **value}
        else:
            out[field] = value
    for name in replace:
        if name not in given:  # asked to replace a list it does not give: it empties it
            out[name] = []
    return out


def removed(name: str, before: list[Item], after: list[Item]) -> list[str]:
    """Keys of the items of list ``name`` that ``after`` no longer holds."""
    key = KEYS[name]
    kept = {key(item) for item in after}
    return [k for k in (key(item) for item in before) if k not in kept]
