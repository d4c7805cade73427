"""Applying a care document: merge into what is stored, replace only what it names,
touch only tenants the caller may act for, all in one transaction.

What a document means is :mod:`.merge`; where it is stored is :mod:`.rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from gateway.errors import ConfigError, NavetError

from ..directory import DeviceDirectory, DeviceEntry
from ..security.pii import PiiCipher
from ..security.tokens import Principal, TenantForbiddenError
from ..store import DbConnection, Store
from ..store.repos.config import device_owners
from .merge import KEYS, merge_tenant, removed
from .models import CareConfig, Device, Tenant
from .rows import (
    DEVICE_COLUMNS,
    delete_item,
    stored_tenant,
    write_device,
    write_plan,
    write_resident,
    write_tenant,
)


@dataclass
class Applied:
    """What a care document changed: items written and items removed, per list."""

    written: dict[str, int]
    removed: dict[str, int]
    tenants: list[str]


@dataclass
class _Plan:
    """Everything a document will write, decided before anything is written."""

    writes: list[Callable[[DbConnection], None]] = field(default_factory=list)
    devices: list[DeviceEntry] = field(default_factory=list)
    gone_devices: list[str] = field(default_factory=list)
    applied: Applied = field(default_factory=lambda: Applied(
        {"tenants": 0, "residents": 0, "devices": 0, "plans": 0}, {}, []))


async def apply_care_config(
    config: CareConfig, store: Store, directory: DeviceDirectory,
    cipher: PiiCipher | None = None, *, principal: Principal | None = None,
) -> Applied:
    """Apply ``config`` to what is stored: merge, and replace the lists a tenant names in
    ``replace`` (see :mod:`gateway.core.care.merge`). All or nothing, in one transaction.

    ``principal`` is who asks (an API caller). Every tenant the document names, and every
    tenant that one of its devices is stored under now (a device id is global), must be
    one the principal may act for; otherwise nothing is written.
    ``None`` is a trusted source: a file named in the settings.

    :raises ConfigError: the document, or what is stored after applying it, is invalid.
    :raises TenantForbiddenError: it touches a tenant the principal may not act for.
    """
    names = [t.id for t in config.tenants]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"tenant {twice[0]} is given twice; give each tenant once")
    if principal is not None:
        for name in names:
            principal.require_tenant(name)
    return await apply_care_document(lambda conn: config, store, directory, cipher,
                                     principal=principal)


async def apply_care_document(
    document: Callable[[DbConnection], CareConfig], store: Store, directory: DeviceDirectory,
    cipher: PiiCipher | None = None, *, principal: Principal | None = None,
) -> Applied:
    """Apply the care document that ``document`` makes from what is stored, in the same
    transaction (so what it read cannot change before it is written). What
    :func:`apply_care_config` does for a given document, and what the resource API
    (:mod:`gateway.core.care.items`) does for one item: the caller has checked the
    principal for the tenants the document names.

    :raises ConfigError: ``document`` raised it, or what it makes is invalid.
    :raises TenantForbiddenError: it touches a tenant the principal may not act for.
    """

    def job(conn: DbConnection) -> _Plan | NavetError:
        try:
            plan = _plan(conn, document(conn), cipher, principal)
        except (ConfigError, TenantForbiddenError) as err:
            return err  # returned, not raised: nothing was written, nothing to roll back
        for write in plan.writes:
            write(conn)
        return plan

    result = await store.write(job)
    if isinstance(result, NavetError):
        raise result
    for gone in result.gone_devices:
        directory.remove(gone)
    for entry in result.devices:
        directory.put(entry)
    return result.applied


def _plan(conn: DbConnection, config: CareConfig, cipher: PiiCipher | None,
          principal: Principal | None) -> _Plan:
    plan = _Plan()
    given_devices = {d.id: t.id for t in config.tenants for d in t.devices}
    for t in config.tenants:
        for d in t.devices:
            if given_devices[d.id] != t.id:
                raise ConfigError(f"device {d.id} is given for tenants {t.id} and "
                                  f"{given_devices[d.id]}; a device belongs to one tenant")
    owners = device_owners(conn, given_devices)
    for dev, owner in sorted(owners.items()):
        if owner != given_devices[dev] and principal is not None:
            # moving a device between tenants touches both; never say which tenant owns it
            principal.require_tenant(owner, f"device {dev} belongs to another tenant; only a "
                                     "token valid for both tenants may move it")
    for given in config.tenants:
        _plan_tenant(conn, plan, given, cipher)
    return plan


def _plan_tenant(conn: DbConnection, plan: _Plan, given: Tenant,
                 cipher: PiiCipher | None) -> None:
    tid = given.id
    stored = stored_tenant(conn, tid, Device.model_fields)
    patch = given.model_dump(mode="json", exclude_unset=True, exclude={"replace"})
    merged_doc = merge_tenant(stored.doc if stored else None, patch, given.replace)
    try:
        merged = Tenant.model_validate(merged_doc)
    except ValidationError as err:
        raise ConfigError(f"tenant {tid}: what is stored, with this document applied, is "
                          f"invalid:\n{err}") from err
    check_tenant(merged)
    sealed = dict(stored.sealed) if stored else {}
    for res in given.residents:
        if res.personal_number is not None:
            if cipher is None:
                raise ConfigError(f"tenant {tid}: resident {res.id} has a personal number but "
                                  "no data key is available to encrypt it")
            sealed[res.id] = cipher.encrypt(res.personal_number,
                                            context=f"resident:{tid}:{res.id}")

    body = merged.model_dump(mode="json", exclude={"id", "residents", "devices", "plans",
                                                   "replace"})
    plan.writes.append(lambda conn: write_tenant(conn, tid, merged.name, body))
    plan.applied.written["tenants"] += 1
    plan.applied.tenants.append(tid)
    # Only what the document gives is written (an unchanged item need not be); what a
    # replace leaves out is deleted.
    touched = {name: {KEYS[name](item) for item in patch.get(name, [])} for name in KEYS}
    for res in merged.residents:
        if res.id in touched["residents"]:
            res_body = res.model_dump(mode="json", exclude={"id", "personal_number"})
            plan.writes.append(lambda conn, r=res.id, b=res_body: write_resident(
                conn, tid, r, b, sealed.get(r)))
            plan.applied.written["residents"] += 1
    extra = stored.device_extra if stored else {}
    for dev in merged.devices:
        if dev.id in touched["devices"]:
            columns = dev.model_dump(mode="json", include=set(DEVICE_COLUMNS))
            dev_body = {**extra.get(dev.id, {}),
                        **dev.model_dump(mode="json", exclude=set(DEVICE_COLUMNS))}
            plan.writes.append(lambda conn, d=dev.id, c=columns, b=dev_body: write_device(
                conn, tid, d, c, b))
            plan.devices.append(DeviceEntry(
                id=dev.id, tenant=tid, adapter=dev.adapter, address=dev.address,
                kind=str(dev.kind), resident=dev.resident, heartbeat_s=dev.heartbeat_s,
                extra=dev_body))
            plan.applied.written["devices"] += 1
    for p in merged.plans:
        if p.id in touched["plans"]:
            plan.writes.append(lambda conn, i=p.id, r=p.resident, b=p.model_dump_json():
                               write_plan(conn, tid, i, r, b))
            plan.applied.written["plans"] += 1
    before = stored.doc if stored else {}
    for name in given.replace:
        gone = removed(name, before.get(name, []), merged_doc.get(name, []))
        if gone:
            plan.applied.removed[name] = plan.applied.removed.get(name, 0) + len(gone)
        if name in ("residents", "devices", "plans"):
            for key in gone:
                plan.writes.append(lambda conn, n=name, k=key: delete_item(conn, tid, n, k))
            if name == "devices":
                plan.gone_devices.extend(gone)


def check_tenant(tenant: Tenant) -> None:
    """:raises ConfigError: something of ``tenant`` names a resident it does not have, or
    its timezone is unknown."""
    residents = {r.id for r in tenant.residents}
    for dev in tenant.devices:
        if dev.resident and dev.resident not in residents:
            raise ConfigError(
                f"tenant {tenant.id}: device {dev.id} names resident {dev.resident}, "
                "who is not in the tenant's residents"
            )
    for plan in tenant.plans:
        if plan.resident not in residents:
            raise ConfigError(f"tenant {tenant.id}: plan {plan.id} names unknown resident "
                              f"{plan.resident}")
    for item in [*tenant.geofences, *tenant.consents, *tenant.supervision, *tenant.relatives,
                 *tenant.passive]:
        if item.resident not in residents:
            raise ConfigError(f"tenant {tenant.id}: {type(item).__name__.lower()} "
                              f"{getattr(item, 'id', '')} names unknown resident "
                              f"{item.resident}".replace("  ", " "))
    try:
        ZoneInfo(tenant.timezone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"tenant {tenant.id}: unknown timezone {tenant.timezone!r}") \
            from err
