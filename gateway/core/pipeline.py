"""The ingest path: raw frame -> decode -> contract check -> inbox -> ack.

``Pipeline.ingest`` returns only once the frame's events (or its dead letter)
are committed, so a transport acknowledges its device after ``await
ingest(...)`` and never before. Rules and delivery run after, from the store,
so a crash between ack and delivery loses nothing.

A frame is *urgent* when one of its events is an alarm, is marked critical or
high, or a rule says it may raise an alarm at once (a rule's ``urgent(event, ctx)``,
see :func:`urgency`). An urgent frame goes into the store writer's urgent lane
(:mod:`gateway.core.store.lanes`): it never waits behind heartbeats and positions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gateway.errors import ContractError, PayloadError, StoreUnavailableError

from .adapters import Adapter, IngestResult, RawFrame
from .clock import Clock
from .directory import DeviceDirectory, DeviceEntry
from .liveness import Liveness
from .metrics import Metrics
from .model import ALARM_TYPES, EVENT_MODELS, EventBase, Priority
from .store import Store

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 256 * 1024

_URGENT_PRIORITIES = frozenset({Priority.CRITICAL, Priority.HIGH})


def is_urgent(event: EventBase) -> bool:
    """An alarm event, or one its adapter marked critical or high."""
    return event.type in ALARM_TYPES or event.priority in _URGENT_PRIORITIES


def urgency(rules: Sequence[Any], ctx: Any) -> Callable[[EventBase], bool]:
    """:func:`is_urgent`, or what a rule's ``urgent(event, ctx)`` says: whether the event
    may make that rule raise an alarm at once (a water leak from a plain sensor report)."""
    checks = [check for rule in rules if callable(check := getattr(rule, "urgent", None))]

    def urgent(event: EventBase) -> bool:
        if is_urgent(event):
            return True
        for check in checks:
            try:
                if check(event, ctx):
                    return True
            except Exception:  # a rule's bug costs the frame its lane, never the frame
                log.exception("urgent() of a rule failed on event %s", event.id)
        return False

    return urgent


class Pipeline:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        directory: DeviceDirectory,
        clock: Clock,
        metrics: Metrics,
        on_committed: Callable[[int], None] = lambda seq: None,
        liveness: Liveness | None = None,
        store_heartbeats: bool = False,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.directory = directory
        self.clock = clock
        self.metrics = metrics
        self.on_committed = on_committed
        self._counters: dict[tuple[str, ...], Any] = {}  # labelled metric children, by labels
        self.urgent: Callable[[EventBase], bool] = is_urgent
        """Whether an event makes its frame urgent; the gateway sets :func:`urgency` of its
        rules once they run."""
        self.liveness = liveness
        """Where every device heard is noted (last-seen), and routine heartbeats go
        instead of the store (:mod:`.liveness`); None: every event is stored."""
        self.store_heartbeats = store_heartbeats

    def _first_of(self, adapter: str) -> Adapter | None:
        by_adapter = getattr(self.adapters, "by_adapter", None)  # AdapterInstances
        return by_adapter(adapter) if by_adapter is not None else None

    async def ingest(self, frame: RawFrame) -> IngestResult:
        """Take one raw frame; return once it is durably stored (events or dead letter).

        :raises StoreUnavailableError: nothing was stored; do not acknowledge the device.
        """
        started = time.perf_counter()
        self._counter("frames", frame.adapter).inc()
        try:
            events = self._decode(frame)
            events = [self._bind(frame, ev) for ev in events]
        except (PayloadError, ContractError) as err:
            return await self._dead(frame, str(err))
        if self._routine(events):
            return self._beats(frame, events, started)
        new_devices = self._new_devices(frame, events)
        try:
            for entry in new_devices:
                await self._register(entry)
            urgent = any(self.urgent(ev) for ev in events)
            result = await self.store.append(events, frame=frame, urgent=urgent)
        except StoreUnavailableError:
            self.metrics.store_errors.inc()
            raise
        by_id = {e.id: e for e in events}
        for event_id in result.accepted:
            self._counter("events", frame.adapter, by_id[event_id].type).inc()
        if result.duplicates:
            self.metrics.duplicates.labels(frame.adapter).inc(len(result.duplicates))
        self.metrics.ingest_latency.observe(time.perf_counter() - started)
        if self.liveness is not None:
            self._heard(events)
        if result.seqs:
            self.on_committed(max(result.seqs))
        return IngestResult(frame=frame.ref, accepted=result.accepted, duplicates=result.duplicates)

    def _counter(self, kind: str, *labels: str) -> Any:
        """The metric child for ``labels`` (``labels()`` takes a lock and builds a key on
        every call; a frame would pay for it once per event)."""
        key = (kind, *labels)
        child = self._counters.get(key)
        if child is None:
            family = self.metrics.frames_in if kind == "frames" else self.metrics.events_in
            child = self._counters[key] = family.labels(*labels)
        return child
    # ------------------------------------------------------------------ heartbeat fast path

    def _routine(self, events: list[EventBase]) -> bool:
        """Whether the frame is only heartbeats that tell nothing new (:meth:`.Liveness.routine`):
        then it is not stored (unless ``heartbeats.store``), only last-seen moves."""
        live = self.liveness
        if live is None or self.store_heartbeats or not events:
            return False
        for ev in events:
            if ev.type != "device.heartbeat" or ev.device is None \
                    or self.directory.get(ev.device.id) is None \
                    or not live.routine(ev.device.id, ev.data.interval_s):  # type: ignore[attr-defined]
                return False
        return True

    def _beats(self, frame: RawFrame, events: list[EventBase], started: float) -> IngestResult:
        assert self.liveness is not None
        for ev in events:
            assert ev.device is not None and ev.received is not None
            self.liveness.beat(ev.tenant, ev.device.id, ev.received.timestamp())
            self.metrics.events_in.labels(frame.adapter, ev.type).inc()
        self.metrics.ingest_latency.observe(time.perf_counter() - started)
        return IngestResult(frame=frame.ref, accepted=tuple(ev.id for ev in events))

    def _heard(self, events: list[EventBase]) -> None:
        """After a commit: the devices were heard; what a stored heartbeat announced is
        known; a device reported offline has its next event stored (the rules end the
        episode), any other event of it was that event."""
        assert self.liveness is not None
        for ev in events:
            if ev.device is None or ev.received is None:
                continue
            device = ev.device.id
            self.liveness.seen(device, ev.received.timestamp())
            if ev.type == "device.heartbeat":
                self.liveness.stored_heartbeat(device, ev.data.interval_s)  # type: ignore[attr-defined]
            self.liveness.attend(device, ev.type == "device.offline")

    def _decode(self, frame: RawFrame) -> list[EventBase]:
        # decode with the instance that received the frame (its settings: base topic, keys,
        # accounts); a frame that names no instance goes to the adapter's first instance
        adapter = (self.adapters.get(frame.instance) if frame.instance else None) \
            or self.adapters.get(frame.adapter) or self._first_of(frame.adapter)
        if adapter is None:
            raise PayloadError("no such adapter is running", adapter=frame.adapter)
        if len(frame.payload) > MAX_FRAME_BYTES:
            raise PayloadError(
                f"frame of {len(frame.payload)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit",
                adapter=frame.adapter,
            )
        try:
            events = adapter.decode(frame)
        except PayloadError as err:
            if not err.adapter:
                err.adapter = frame.adapter
            raise
        except Exception as err:  # an adapter bug is a dead letter, never a host crash
            log.exception("adapter %s crashed on a frame from %s", frame.adapter, frame.address)
            raise PayloadError(
                f"adapter crashed: {type(err).__name__}: {err}", adapter=frame.adapter
            ) from err
        if not isinstance(events, list):
            raise PayloadError("decode() must return a list of events", adapter=frame.adapter)
        return events

    def _bind(self, frame: RawFrame, event: EventBase) -> EventBase:
        """Check an adapter's event against the contract and fill what Navet owns."""
        if type(event) is not EVENT_MODELS.get(event.type):
            raise ContractError(
                f"{frame.adapter}: decode() returned {type(event).__name__}, not a contract v1 "
                "event (build events with gateway.make_event)"
            )
        if event.tenant != frame.tenant:
            raise ContractError(
                f"{frame.adapter}: event for tenant {event.tenant!r} in a frame of tenant "
                f"{frame.tenant!r}; an adapter may only report for its own tenant"
            )
        update: dict[str, Any] = {
            "received": self.clock.now(),
            "source": event.source.model_copy(update={"frame": frame.ref}),
        }
        if event.device is not None:
            entry = self.directory.get(event.device.id)
            if entry is not None:
                if entry.tenant != frame.tenant:
                    raise ContractError(
                        f"{frame.adapter}: device {event.device.id} belongs to another tenant"
                    )
                if event.resident is None and entry.resident:
                    update["resident"] = entry.resident
        return event.model_copy(update=update)

    def _new_devices(self, frame: RawFrame, events: list[EventBase]) -> list[DeviceEntry]:
        seen: dict[str, DeviceEntry] = {}
        for ev in events:
            dev = ev.device
            if dev is None or dev.id in seen or self.directory.get(dev.id) is not None:
                continue
            address = dev.id.split(":", 1)[1] if ":" in dev.id else dev.id
            seen[dev.id] = DeviceEntry(
                id=dev.id, tenant=frame.tenant, adapter=frame.adapter, address=address,
                kind=str(dev.kind), extra={"vendor": dev.vendor, "model": dev.model,
                                           "serial": dev.serial, "unassigned": True},
            )
        return list(seen.values())

    async def _register(self, entry: DeviceEntry) -> None:
        """A device Navet has not seen: keep it, unassigned, so an operator can assign it."""
        log.info("new device %s for tenant %s (unassigned)", entry.id, entry.tenant)
        await self.store.put_row(
            "devices", {"id": entry.id},
            {"tenant": entry.tenant, "adapter": entry.adapter, "address": entry.address,
             "kind": entry.kind, "resident": None, "heartbeat_s": None,
             "body": json.dumps(entry.extra)},
        )
        self.directory.put(entry)

    async def _dead(self, frame: RawFrame, reason: str) -> IngestResult:
        self.metrics.dead_letters.labels(frame.adapter).inc()
        log.warning("dead letter from %s at %s: %s", frame.adapter, frame.address, reason)
        try:
            number = await self.store.dead_letter(frame, reason)
        except StoreUnavailableError:
            self.metrics.store_errors.inc()
            raise
        return IngestResult(frame=frame.ref, dead_letter=str(number), reason=reason)
