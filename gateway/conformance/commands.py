"""The commands check: the adapter started on a host the kit plays, its vendor away.

A command adapter must report what became of every command: ``CommandResult``
with a reason for a refusal, :class:`gateway.TransportError` when the vendor
could not be reached (after its own retries on the host's clock), never another
exception and never a wait without end. When the adapter ships a vendor
simulator (``commands.vendor``), the kit also runs each command with it
answering, and the result must be accepted: the round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.core.adapters import IngestResult, RawFrame
from gateway.core.clock import FakeClock
from gateway.core.commands import Command, CommandResult
from gateway.core.model import Actor, ActorKind
from gateway.core.security.outbound import OutboundPolicy, OutboundSettings
from gateway.errors import NavetError, PayloadError
from gateway.transports.memory import MemoryBroker

from .declaration import FILE_NAME
from .report import Check
from .subject import Subject

REAL_BUDGET_S = 20.0
"""Real seconds one command may take while the kit moves the clock."""


class KitHost:
    """An :class:`gateway.AdapterHost` for the kit: fake clock, in-memory broker, no store."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        self.clock = FakeClock()
        self.tenant = subject.tenant
        self.instance_id = "conformance"
        self.environment = "development"
        self.outbound = OutboundPolicy(OutboundSettings(allow_loopback=True))
        self.broker = MemoryBroker()
        self._client = self.broker.client("navet-conformance")
        self.frames: list[RawFrame] = []
        self.webhooks: dict[str, Callable[[Any], Awaitable[Any]]] = {}

    async def ingest(self, frame: RawFrame) -> IngestResult:
        self.frames.append(frame)
        try:
            events = self.subject.instance().decode(frame)
        except PayloadError as err:
            return IngestResult(frame.ref, dead_letter=frame.ref, reason=str(err))
        return IngestResult(frame.ref, accepted=tuple(e.id for e in events))

    def mqtt(self) -> Any:
        return self._client

    def add_webhook(self, path: str, handler: Callable[[Any], Awaitable[Any]]) -> None:
        self.webhooks[path] = handler

    def listener_refused(self, listener: str, reason: str, count: int = 1) -> None:
        pass

    async def keep_refused(self, frame: RawFrame, reason: str) -> None:
        pass

    async def alarm_state(self, alarm: str) -> str | None:
        return None

    async def alarm_status(self, alarm: str) -> Any:
        return None


async def _drive(host: KitHost, task: asyncio.Future[Any], budget_s: float) -> bool:
    """Move the clock until ``task`` is done or ``budget_s`` clock seconds have passed."""
    loop = asyncio.get_running_loop()
    real_deadline = loop.time() + REAL_BUDGET_S
    moved = 0.0
    while not task.done() and moved <= budget_s and loop.time() < real_deadline:
        await host.clock.advance(1.0)
        moved += 1.0
        await asyncio.sleep(0.001)
    if not task.done():
        await asyncio.wait({task}, timeout=0.2)
    return task.done()


def _command(subject: Subject, host: KitHost, name: str, n: int, device: str,
             args: dict[str, Any]) -> Command:
    return Command(id=f"conformance-{n:04d}", name=name, tenant=subject.tenant,
                   device=f"{subject.name}:{device}", address=device,
                   requested_by=Actor(kind=ActorKind.STAFF, id="conformance-kit"),
                   issued=host.clock.now(), args=dict(args))


async def _execute(adapter: Any, host: KitHost, command: Command,
                   budget_s: float) -> tuple[str, Any]:
    task = asyncio.ensure_future(adapter.execute(command))
    if not await _drive(host, task, budget_s):
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return "hang", None
    try:
        return "ok", task.result()
    except BaseException as err:
        return "raised", err


def _judge(command: Command, status: str, value: Any, budget_s: float,
           *, answered: bool) -> str | None:
    """Why this outcome breaks the contract, or None when it is fine."""
    what = f"execute({command.name!r})"
    if status == "hang":
        return (f"{what} did not finish within {budget_s:g} clock seconds: give up at a "
                "deadline on host.clock and raise gateway.TransportError")
    if status == "raised":
        if isinstance(value, NavetError) and str(value):
            return None if not answered else f"{what} failed with its vendor answering: {value}"
        return (f"{what} raised {type(value).__name__} ({value}): return CommandResult(False, "
                "reason) for a refusal, raise gateway.TransportError when the vendor is away")
    if answered:  # a camera start answers with its own result type; a refusal is a fail
        if isinstance(value, CommandResult) and not value.accepted:
            return f"{what} was refused with its vendor simulator answering: {value.reason}"
        return None
    if not isinstance(value, CommandResult):
        return (f"{what} returned {type(value).__name__} although the vendor was unreachable: "
                "raise gateway.TransportError")
    if value.accepted:
        return (f"{what} reported accepted although the vendor was unreachable: report "
                "success only when the vendor confirmed it")
    if not value.reason:
        return f"{what} refused without a reason: say why in CommandResult.reason"
    return None


async def _check_commands(subject: Subject) -> Check:
    manifest = subject.cls.manifest
    if not manifest.commands:
        return Check("commands", "skipped", "the manifest lists no commands")
    if subject.declaration is None or subject.declaration.spec.commands is None:
        return Check("commands", "fail",
                     f"the manifest lists commands but {FILE_NAME} has no commands section "
                     f"(the device to command and the settings to start with)")
    spec = subject.declaration.spec.commands
    settings = {**subject.declaration.spec.settings, **spec.settings}
    notes: list[str] = []
    rounds = [(False, None)]
    if spec.vendor is not None:
        module, _, name = spec.vendor.partition(":")
        rounds.append((True, getattr(importlib.import_module(module), name)))
    n = 0
    for answered, vendor in rounds:
        host = KitHost(subject)
        adapter = subject.cls(dict(settings))
        async with contextlib.AsyncExitStack() as stack:
            if vendor is not None:
                await stack.enter_async_context(vendor(host))
            try:
                await host.mqtt().connect()
                await adapter.start(host)
            except Exception as err:
                return Check("commands", "fail",
                             f"start() with the declared settings raised "
                             f"{type(err).__name__}: {err}")
            try:
                names = list(manifest.commands) + ([] if answered else ["conformance.unknown"])
                for command_name in names:
                    n += 1
                    command = _command(subject, host, command_name, n, spec.device,
                                       spec.args.get(command_name, {}))
                    status, value = await _execute(adapter, host, command, spec.budget_s)
                    problem = _judge(command, status, value, spec.budget_s, answered=answered)
                    if problem is not None:
                        return Check("commands", "fail", problem)
            finally:
                with contextlib.suppress(Exception):
                    await adapter.stop()
        notes.append("round trip with the vendor simulator accepted" if answered
                     else "failures reported with the vendor away")
    if spec.vendor is None:
        notes.append("no vendor simulator declared, so no round trip")
    return Check("commands", "pass",
                 f"{', '.join(manifest.commands)}: " + "; ".join(notes))


def check_commands(subject: Subject) -> Check:
    return asyncio.run(_check_commands(subject))
