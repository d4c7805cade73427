"""The command path: API -> policy check -> audit -> adapter.execute(command) -> device.

:class:`CommandService` (``Gateway.commands``) is the only way Navet makes a
device act. For one request it

1. resolves the device in the caller's tenant and the adapter instance that
   serves it;
2. asks the policy for that command (:mod:`gateway.core.policy`);
3. writes the decision to the audit log **before** anything is sent, so a
   crash in between still leaves the trace;
4. on a denial stores a ``lock.denied`` event (source ``navet``) and stops;
5. otherwise calls ``adapter.execute(command)`` and audits what the vendor
   answered. A vendor refusal is stored as ``lock.denied`` too; a vendor that
   cannot be reached (after the adapter's own retries) is audited as
   ``failed`` and reported to the caller, and the adapter reports its link
   as down.

The outcome a person cares about, the door actually opening, is the device's
own report (``lock.unlocked``), which arrives through the adapter's ingest
path like every other event. Commands carry the caller as ``requested_by`` so
the vendor can attribute the opening and the adapter can name the staff
member in that event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import NavetError, TransportError
from gateway.sdk.commands import Command, CommandResult

from .audit import AuditEntry, AuditLog
from .care import tenant_care
from .clock import Clock
from .directory import DeviceDirectory
from .instances import AdapterInstances
from .model import Actor, ActorKind, DeviceKind, DeviceRef, EventBase, make_event
from .policy import Decision, LockPolicy, PolicyContext
from .store import Store

log = logging.getLogger(__name__)


class CommandStatus:
    DENIED = "denied"  # by Navet's policy
    SENT = "sent"  # the vendor accepted it; the device reports the result as an event
    REFUSED = "refused"  # the vendor or device refused it
    FAILED = "failed"  # could not be delivered (vendor unreachable, adapter cannot)


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What happened to one request, for the API to answer with."""

    command: str  # command id
    name: str
    status: str
    decision: Decision
    reason: str
    audit: tuple[int, ...]
    vendor_ref: str | None = None
    event: EventBase | None = None  # the lock.denied stored for a denial or refusal

    @property
    def ok(self) -> bool:
        return self.status == CommandStatus.SENT

    def as_dict(self) -> dict[str, Any]:
        return {"command": self.command, "name": self.name, "status": self.status,
                "reason": self.reason, "decision": self.decision.as_dict(),
                "audit": list(self.audit), "vendor_ref": self.vendor_ref,
                "event": self.event.id if self.event is not None else None}


class UnknownCommandError(NavetError):
    """No policy governs a command of that name."""


POLICIES: dict[str, Any] = {name: LockPolicy() for name in LockPolicy.commands}
"""Command name -> policy. A command without a policy is refused outright."""

DENIED_EVENT = {"lock.unlock": "lock.denied", "lock.lock": "lock.denied"}
"""Command name -> event type stored when it is denied or refused."""


class CommandService:
    """Executes commands for a running gateway. See the module docstring."""

    def __init__(self, store: Store, clock: Clock, directory: DeviceDirectory,
                 instances: AdapterInstances, alarms: Any,
                 emit: Callable[[list[EventBase]], Awaitable[None]], audit: AuditLog) -> None:
        self.store = store
        self.clock = clock
        self.directory = directory
        self.instances = instances
        self.alarms = alarms  # the alarm service: the lock policy asks about dispatches
        self.emit = emit
        self.audit = audit

    def adapter_for(self, tenant: str, adapter: str) -> tuple[str, Any] | None:
        """The running instance (id, adapter object) of ``adapter`` for ``tenant``."""
        return self.instances.find(tenant, adapter)

    async def execute(self, tenant: str, actor_id: str, device_id: str, name: str,
                      args: Mapping[str, Any] | None = None) -> CommandOutcome:
        """Decide, audit and (when allowed) execute ``name`` on ``device_id`` for ``actor_id``.

        :raises UnknownCommandError: no policy governs ``name``.
        """
        policy = POLICIES.get(name)
        if policy is None:
            raise UnknownCommandError(f"no such command {name!r} (known: "
                                      f"{', '.join(sorted(POLICIES))})")
        now = self.clock.now()
        entry = self.directory.get(device_id)
        if entry is not None and entry.tenant != tenant:
            entry = None  # another tenant's device does not exist for this caller
        care = await self.store.read(lambda conn: tenant_care(self.store, tenant))
        actor = Actor(kind=ActorKind.STAFF, id=actor_id)
        ctx = PolicyContext(now=now, tenant=care, device=entry, alarms=self.alarms)
        decision = await policy.decide(name, actor_id, ctx)
        command = Command(
            id=str(uuid.uuid4()), name=name, tenant=tenant, device=device_id,
            address=entry.address if entry is not None else "", requested_by=actor,
            issued=now, resident=entry.resident if entry is not None else None,
            args=dict(args or {}))
        resident = entry.resident if entry is not None else None
        audit_device = device_id[:200]
        first = await self._audit(command, "allowed" if decision.allowed else "denied",
                                  decision.reason, resident, audit_device,
                                  {"code": decision.code, "basis": dict(decision.basis)})
        if not decision.allowed:
            event = await self._denied(command, entry, decision.reason)
            log.info("command %s %s on %s by %s denied: %s", command.id, name, device_id,
                     actor_id, decision.code)
            return CommandOutcome(command.id, name, CommandStatus.DENIED, decision,
                                  decision.reason, (first.seq,), event=event)

        assert entry is not None  # the policy allows nothing on an unknown device
        found = self.adapter_for(tenant, entry.adapter)
        instance, adapter = found if found is not None else ("", None)
        manifest = getattr(adapter, "manifest", None)
        if adapter is None or name not in getattr(manifest, "commands", ()):
            why = (f"no running adapter {entry.adapter!r} for tenant {tenant}" if adapter is None
                   else f"adapter {entry.adapter!r} cannot execute {name}")
            last = await self._audit(command, CommandStatus.FAILED, why, resident, audit_device,
                                     {"adapter": entry.adapter})
            return CommandOutcome(command.id, name, CommandStatus.FAILED, decision, why,
                                  (first.seq, last.seq))
        try:
            result: CommandResult = await adapter.execute(command)
        except TransportError as err:
            why = f"not delivered: {err}"
            last = await self._audit(command, CommandStatus.FAILED, why, resident, audit_device,
                                     {"adapter": entry.adapter, "instance": instance})
            event = await self._denied(command, entry, why) if name == "lock.unlock" else None
            return CommandOutcome(command.id, name, CommandStatus.FAILED, decision, why,
                                  (first.seq, last.seq), event=event)
        except Exception as err:  # an adapter bug must not crash the API; say so
            log.exception("adapter %s failed to execute %s", entry.adapter, name)
            why = f"adapter error: {type(err).__name__}"
            last = await self._audit(command, CommandStatus.FAILED, why, resident, audit_device,
                                     {"adapter": entry.adapter, "instance": instance})
            return CommandOutcome(command.id, name, CommandStatus.FAILED, decision, why,
                                  (first.seq, last.seq))
        if not result.accepted:
            why = f"refused by the lock vendor: {result.reason or 'no reason given'}"
            last = await self._audit(command, CommandStatus.REFUSED, why, resident, audit_device,
                                     {"vendor_ref": result.vendor_ref, "instance": instance})
            event = await self._denied(command, entry, why)
            return CommandOutcome(command.id, name, CommandStatus.REFUSED, decision, why,
                                  (first.seq, last.seq), vendor_ref=result.vendor_ref,
                                  event=event)
        last = await self._audit(command, CommandStatus.SENT, "accepted by the vendor",
                                 resident, audit_device,
                                 {"vendor_ref": result.vendor_ref, "instance": instance})
        log.info("command %s %s on %s by %s sent (%s)", command.id, name, device_id, actor_id,
                 decision.code)
        return CommandOutcome(command.id, name, CommandStatus.SENT, decision,
                              decision.reason, (first.seq, last.seq),
                              vendor_ref=result.vendor_ref)

    async def _audit(self, command: Command, decision: str, reason: str,
                     resident: str | None, device: str, detail: Mapping[str, Any]
                     ) -> AuditEntry:
        return await self.audit.append(
            tenant=command.tenant, actor=command.requested_by, action=command.name,
            decision=decision, reason=reason, resident=resident, device=device,
            detail={"command": command.id, **detail}, time=self.clock.now())

    async def _denied(self, command: Command, entry: Any, reason: str) -> EventBase | None:
        """Store the denial as an event (``lock.denied``), attached to the door when known."""
        event_type = DENIED_EVENT.get(command.name)
        if event_type is None:
            return None
        device = None
        if entry is not None:
            kind = entry.kind if entry.kind in DeviceKind._value2member_map_ else "other"
            device = DeviceRef(id=entry.id, kind=DeviceKind(kind),
                               vendor=entry.extra.get("vendor"), model=entry.extra.get("model"))
        event = make_event(
            event_type, tenant=command.tenant, time=command.issued,
            source={"adapter": "navet", "protocol": "command", "ref": command.id},
            device=device, resident=entry.resident if entry is not None else None,
            data={"by": command.requested_by, "reason": reason[:500]},
            id_parts=("denied",),
        )
        await self.emit([event])
        return event
