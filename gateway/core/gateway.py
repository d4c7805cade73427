"""The running gateway: owns the store, plugins, transports, pipeline, rules and outbox.

``Gateway`` is what the HTTP app's lifespan, ``navet serve`` and ``navet demo``
start and stop. Everything time-dependent takes the injected clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from gateway.errors import (
    ConfigError,
    NavetError,
    OutboundRefused,
    SubscriptionLimitError,
    describe_invalid,
)
from gateway.sdk.alarms import AlarmDesk, AlarmReader
from gateway.transports.base import MqttClient

from .adapters import IngestResult, RawFrame
from .alarms import AlarmService, StoredAlarms
from .alerts import SystemAlerts
from .audit import AuditLog
from .audit_anchor import AuditKeys, CheckpointFile
from .care import Consent, apply_care_config, load_care_config, tenant_care
from .clock import Clock, SystemClock
from .cluster import Cluster, take_over_session
from .commands import CommandService
from .directory import DeviceDirectory
from .hosting import AdapterHostImpl, WebhookHandler
from .instances import AdapterInstances
from .liveness import Liveness, flush_every
from .metrics import Metrics
from .notifier import Notifier
from .outbox import OutboxDispatcher
from .pipeline import Pipeline, urgency
from .plugin_trust import TrustPolicy
from .plugins import GatewayPlugins, build_plugin_manager
from .policy.cameras import SupervisionService
from .retention import Pruner
from .routing import Router
from .rules import RuleContext, RulesRunner
from .rules.builtin import builtin_rules
from .security.files import check_private, enforce_private, private_dir
from .security.outbound import OutboundPolicy
from .security.pii import DataKeys, PiiCipher
from .settings import AdapterInstance, Settings, SubscriptionLimits
from .store import Store, Subscription, make_store

log = logging.getLogger(__name__)

TIMERS_LEASE = "rules.timers"
"""Scale-out: the lease of the instance whose rule timers run (docs/scale-out.md)."""

@dataclass
class SinkServices:
    """What a sink may use (:class:`gateway.SinkServices`): the MQTT client, the clock,
    its subscription; the FHIR facade's sinks also read through ``store``, ``plugins``,
    ``alarm_reads`` and ``consents`` (:class:`gateway.fhir.host.FhirHost`)."""

    mqtt: MqttClient
    clock: Clock
    subscription: Subscription
    prefix: str = "navet"
    alarms: AlarmDesk | None = None
    """Forwarders acknowledge an alarm through it when the upstream centre has taken it."""
    store: Store | None = None
    outbound: OutboundPolicy = field(default_factory=OutboundPolicy)
    """Where the sink may connect to: every connection goes through it (docs/security.md)."""
    limits: SubscriptionLimits = field(default_factory=SubscriptionLimits)
    plugins: GatewayPlugins | None = None
    """The plugin hooks (``navet_event_to_fhir``: a notification maps like a REST read)."""
    alarm_reads: AlarmReader | None = None

    def consents(self, tenant: str) -> list[Consent]:
        care = tenant_care(self.store, tenant) if self.store is not None else None
        return list(care.consents) if care else []


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        mqtt: MqttClient | None = None,
        extra_plugins: Iterable[tuple[str, ModuleType | object]] = (),
        rules: list[Any] | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        # every outbound connection, sinks and adapters alike, is judged by this one policy
        self.outbound = OutboundPolicy.from_settings(settings)
        self.metrics = Metrics()
        # One set of data keys seals personal numbers and the subscriptions' secrets; the
        # key file is read (or created) on first use.
        self._pii = PiiCipher(DataKeys(settings.data_key_path))
        self.store = make_store(settings.database_target, synchronous=settings.db_synchronous,
                                cipher=self._pii)
        if settings.scale_out:  # several instances on one schema (gateway/core/cluster.py)
            self.store.shared = True  # type: ignore[attr-defined]
        if settings.instance or settings.scale_out:
            self.store.instance = settings.instance_name  # type: ignore[attr-defined]
        self.cluster: Cluster | None = None
        self._seq_refresh: asyncio.Task[None] | None = None
        self._seq_again = False
        self.directory = DeviceDirectory()
        self.notifier = Notifier()
        if settings.remote_adapters:  # out-of-process adapters (gateway/core/remote)
            from .remote import remote_plugins

            extra_plugins = [*extra_plugins, *remote_plugins(settings.remote_adapters)]
        self.plugins: GatewayPlugins = build_plugin_manager(
            settings.disabled_plugins, extra_plugins, TrustPolicy.from_settings(settings)
        )
        self._mqtt = mqtt
        self._broker: Any = None
        self.adapter_instances = AdapterInstances()  # by instance id only
        self.hosts: dict[str, AdapterHostImpl] = {}
        self.webhooks: dict[str, WebhookHandler] = {}
        self.sinks: dict[str, Any] = {}
        self.liveness = Liveness()  # last-seen in memory; heartbeats' fast path
        self.pipeline = Pipeline(
            self.store, self.adapter_instances, self.directory, self.clock, self.metrics,
            on_committed=self._committed, liveness=self.liveness,
            store_heartbeats=settings.heartbeats.store,
        )
        self._liveness_flush: asyncio.Task[None] | None = None
        self._rules = rules
        self.rules: RulesRunner | None = None
        self.outbox: OutboxDispatcher | None = None
        self.alarms = AlarmService(self.store, self.clock, self.emit)
        self.alarm_reads = StoredAlarms(self.store)  # the FHIR facade's alarm reads
        self.audit = AuditLog(self.store, self.clock,
                              keys=AuditKeys.at(settings.audit_key_path),
                              checkpoints=CheckpointFile(settings.audit_checkpoint_path))
        # camera checks (policy/cameras.py)
        self.supervision = SupervisionService(self.store, self.clock, self.directory,
                                              self.adapter_instances, self.emit, self.audit)
        # API -> policy -> audit -> adapter
        self.commands = CommandService(self.store, self.clock, self.directory,
                                       self.adapter_instances, self.alarms, self.emit,
                                       self.audit)
        self.started = False
        self._instance_mqtt: dict[str, MqttClient] = {}
        # alarms about Navet itself (store unwritable)
        self.alerts = SystemAlerts(self.store, self.clock, self.metrics, self.emit,
                                   mqtt=lambda: self.mqtt,
                                   prefix=settings.mqtt.northbound_prefix,
                                   tenants=lambda: {a.tenant for a in self.settings.adapters})
        self.pruner = Pruner(self.store, self.clock, settings.retention, self.audit)
        self._retention: asyncio.Task[None] | None = None

    @property
    def pii(self) -> PiiCipher:
        """Encrypts personal identifiers and stored secrets at rest (privacy.data_key_file)."""
        return self._pii

    def check_file_modes(self) -> None:
        """The data directory 0700; the database files, key files and audit checkpoints
        0600 (gateway/core/security/files.py). Warns in development, refuses in
        production.

        :raises ConfigError: in production, when any of them is wider.
        """
        s = self.settings
        private_dir(s.data_dir)
        keys = s.data_dir / "keys"
        files = [s.data_key_path, s.audit_key_path, s.audit_checkpoint_path,
                 keys / "token-signing.pem", s.data_dir / "pki" / "ca-key.pem"]
        if not s.database_is_url:
            db = s.database_path
            files += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
        dirs = [s.data_dir, keys, s.data_dir / "pki", s.data_dir / "audit"]
        enforce_private(check_private(dirs, files), production=s.environment == "production",
                        log=log)

    @property
    def broker(self) -> Any:
        """The broker this gateway started (embedded or in-memory), or None."""
        return self._broker

    @property
    def mqtt(self) -> MqttClient:
        if self._mqtt is None:
            raise ConfigError("MQTT is not started")
        return self._mqtt

    def _committed(self, seq: int) -> None:
        self.notifier.advance(seq)
        if self.rules is not None:
            self.rules.wake()

    async def ingest(self, frame: RawFrame) -> IngestResult:
        return await self.pipeline.ingest(frame)

    # ------------------------------------------------------------------ scale-out

    def _committed_elsewhere(self) -> None:
        """Another instance committed (LISTEN/NOTIFY): wake this one's streams."""
        if self._seq_refresh is not None and not self._seq_refresh.done():
            self._seq_again = True
            return
        self._seq_refresh = asyncio.ensure_future(self._refresh_seq())

    async def _refresh_seq(self) -> None:
        while True:
            self._seq_again = False
            try:
                self.notifier.advance(await self.store.read(lambda conn: self.store.last_seq()))
            except Exception as err:  # the store is down: the next commit wakes us again
                log.warning("could not read the last seq after another instance's commit: %s",
                            err)
            if not self._seq_again:
                return

    def _mqtt_sessions(self) -> list[dict[str, Any]]:
        """The MQTT sessions this instance holds, for another one to take over if it dies."""
        out: list[dict[str, Any]] = []
        if self._mqtt is not None and hasattr(self._mqtt, "routes"):
            out.append({"client_id": self._mqtt.client_id, "adapter": None})  # type: ignore[attr-defined]
        out += [{"client_id": c.client_id, "adapter": inst}  # type: ignore[attr-defined]
                for inst, c in self._instance_mqtt.items()]
        return out

    async def _take_over(self, dead: dict[str, Any]) -> None:
        """Handle what a dead instance's MQTT sessions hold with this instance's adapters,
        then erase the sessions (gateway/core/cluster.py); rule what it left unruled."""
        from gateway.transports.mqtt import PahoMqttClient

        for session in dead["sessions"]:
            adapter = session.get("adapter")
            local = self._instance_mqtt.get(adapter) if adapter else self._mqtt
            if local is None or not hasattr(local, "routes"):
                log.error("instance %s left MQTT session %s of adapter instance %s, which "
                          "this instance does not run; it stays with the broker",
                          dead["name"], session["client_id"], adapter)
                continue
            client = PahoMqttClient(local.settings, client_id=session["client_id"])  # type: ignore[attr-defined]
            for topic_filter, handler, qos in local.routes:  # type: ignore[attr-defined]
                await client.subscribe(topic_filter, handler, qos)
            handled = await take_over_session(client)
            eraser = PahoMqttClient(local.settings, client_id=session["client_id"],  # type: ignore[attr-defined]
                                    persistent=False)
            await eraser.connect()  # a clean session replaces the old one: it is gone
            await eraser.disconnect()
            log.warning("took over MQTT session %s of instance %s: %d message(s)",
                        session["client_id"], dead["name"], handled)
        if self.rules is not None:
            self.rules.rescan()  # what the dead instance stored but did not rule yet

    def adapter_health(self) -> dict[str, dict[str, Any]]:
        """Instance id -> what each adapter says about its vendor link (``health()``, when it
        has one): e.g. ``{"link": "down", "failures": 3, "last_error": ...}``. A vendor link
        that is down is also a ``device.offline`` event and a technical link-lost alarm."""
        out: dict[str, dict[str, Any]] = {}
        for instance_id in self.hosts:
            health = getattr(self.adapter_instances.get(instance_id), "health", None)
            if callable(health):
                try:
                    out[instance_id] = dict(health())
                except Exception as err:  # a broken health() must not break the caller
                    out[instance_id] = {"error": f"{type(err).__name__}: {err}"}
        return out

    # ------------------------------------------------------------------ lifecycle

    def check_config(self) -> list[tuple[Path, Any]]:
        """What can be judged before anything is written: the care configuration files
        parse and validate, every adapter instance and subscription names a registered
        adapter or sink. Returns the parsed care configurations, in order.

        :raises ConfigError: naming the file, instance or subscription and what is wrong.
        """
        s = self.settings
        for inst in s.adapters:
            try:
                self.plugins.adapters.get(inst.adapter)
            except NavetError as err:
                raise ConfigError(f"adapter instance {inst.instance_id}: {err}"
                                  f"{self._refused_plugins()}") from err
        for sub in s.subscriptions:
            try:
                self.plugins.sinks.get(sub.sink)
            except NavetError as err:
                raise ConfigError(f"subscription {sub.id}: {err}"
                                  f"{self._refused_plugins()}") from err
        return [(Path(path), load_care_config(path)) for path in s.care_config]

    def _refused_plugins(self) -> str:
        """Why a configured adapter may be missing: the plugins that did not load."""
        out = [f"{i.name} ({i.status}: {i.reason})" for i in self.plugins.list()
               if i.status in ("refused", "failed") and i.installed]
        return f"; plugins not loaded: {'; '.join(out)}" if out else ""

    async def start(self) -> None:
        s = self.settings
        production = s.environment == "production"
        care = self.check_config()  # before the first file or table is made
        self.check_file_modes()
        self.store.open()
        await self.pruner.ensure_partitions()  # this month's frames never land in the default
        await self.audit.open(production=production)
        await self.audit.checkpoint("start")  # anchors what is there, old entries included
        self.audit.start_checkpoints(s.audit.checkpoint_interval_s)
        self.directory.load(self.store.rows("devices"))
        self.notifier.advance(self.store.last_seq())
        for path, config in care:
            applied = await apply_care_config(config, self.store, self.directory, self.pii)
            log.info("care configuration %s loaded: %s, removed %s", path, applied.written,
                     applied.removed or "nothing")
        for sub in s.subscriptions:
            await self.store.put_subscription(Subscription(
                sub.id, sub.tenant, sub.sink, tuple(sub.types), sub.settings, sub.enabled))

        await self._start_mqtt()

        ctx = RuleContext(self.clock, self.store, self.directory, self.emit)
        rules = self._rules if self._rules is not None else builtin_rules()
        for rule in rules:  # supervision hears heartbeats that are not stored
            if isinstance(getattr(rule, "liveness", None), Liveness):
                rule.liveness = self.liveness
                if s.scale_out:  # the others' devices: from the store, a flush late
                    rule.shared_s = s.heartbeats.flush_interval_s
        self.rules = RulesRunner(self.store, rules, ctx, self.notifier,
                                 after=self.plugins.event_stored)
        if s.scale_out:  # rule timers run on one instance at a time
            self.rules.timers_lease = self._timers_lease
        await self.rules.start()
        self.pipeline.urgent = urgency(self.rules.rules, ctx)  # alarms ahead of bulk frames
        self._liveness_flush = asyncio.create_task(flush_every(
            self.liveness, self.store, self.clock, s.heartbeats.flush_interval_s),
            name="liveness-flush")

        for stored in self.store.subscriptions:
            self._make_sink(stored)
            self._check_destinations(stored, self.sinks[stored.id])
        for sub_id, sink in self.sinks.items():  # sinks with a life of their own (polls)
            start = getattr(sink, "start", None)
            if start is not None:
                try:
                    await start()
                except Exception as err:
                    raise ConfigError(f"subscription {sub_id}: sink failed to start: {err}") \
                        from err
        self.outbox = OutboxDispatcher(
            self.store, self.sinks, self.clock, self.metrics, self.notifier
        )
        if s.scale_out:
            self.cluster = Cluster(self.store, self.clock, s.instance_name,
                                   adopt=self._take_over, on_commit=self._committed_elsewhere)
            self.outbox.lease = self.cluster.holds  # one instance delivers a subscription
        if s.routing:  # per-tenant routing with fallbacks (gateway/core/routing.py)
            self.outbox.router = Router(s.routing, self.store, self.clock, lambda: [
                sub.id for sub in self.store.subscriptions if sub.enabled and sub.id in self.sinks])
            self.outbox.router.check(self.store.subscriptions)
        await self.outbox.start()

        for inst in s.adapters:
            await self.start_adapter(inst)
        if self.cluster is not None:
            await self.cluster.start()
            await self.cluster.set_sessions(self._mqtt_sessions())
        self.alerts.start()
        if s.retention.prune_interval_s:  # at start, then daily (gateway/core/retention.py)
            self._retention = asyncio.create_task(
                self.pruner.every(s.retention.prune_interval_s), name="retention")
        self.started = True
        log.info(
            "gateway started: %d adapter instance(s), %d subscription(s), %d device(s)",
            len(self.hosts), len(self.sinks), len(self.directory),
        )

    async def _timers_lease(self) -> bool:
        """Scale-out: whether this instance runs the rule timers (lease ``rules.timers``)."""
        return self.cluster is not None and await self.cluster.holds(TIMERS_LEASE)

    async def start_adapter(self, inst: AdapterInstance) -> Any:
        cls = self.plugins.adapters.get(inst.adapter)
        try:
            adapter = cls(inst.settings)  # type: ignore[call-arg]
        except Exception as err:
            raise ConfigError(
                f"adapter instance {inst.instance_id}: bad settings: {describe_invalid(err)}"
            ) from err
        host = AdapterHostImpl(
            inst, self.clock, store_frame=lambda frame: self.ingest(frame),  # looked up per call
            mqtt_client=partial(self.mqtt_for, inst.instance_id), metrics=self.metrics,
            dead_letters=self.store.dead_letter_repo, alarms=self.alarms,
            outbound=self.outbound, environment=self.settings.environment,
            http=self.settings.http, webhooks=self.webhooks)
        await self._isolate_mqtt(inst.instance_id, cls)
        self.adapter_instances.add(inst, adapter)
        self.hosts[inst.instance_id] = host
        start = getattr(adapter, "start", None)
        if start is not None:
            await start(host)
        listening = getattr(adapter, "listening", None)
        for address, port in (listening() if callable(listening) else ()):
            self.outbound.add_listener(address, port, f"the {inst.adapter} listener of "
                                                      f"{inst.instance_id}")
        return adapter

    def consents(self, tenant: str) -> list[Consent]:
        """The tenant's consents from its care configuration (the FHIR facade's Consents)."""
        care = tenant_care(self.store, tenant)
        return list(care.consents) if care else []

    def mqtt_for(self, instance_id: str) -> MqttClient:
        """The MQTT client an adapter instance uses: its own, or the shared one."""
        return self._instance_mqtt.get(instance_id) or self.mqtt

    async def _isolate_mqtt(self, instance_id: str, cls: Any) -> None:
        """Give an MQTT-speaking adapter instance its own broker session (mqtt.isolate_adapters).

        Each session has its own queue and in-flight window at the broker, so one
        vendor's flood waits in its own queue and another vendor's alarm does not
        queue behind it. Only for a real broker (embedded or external).
        """
        shared = self._mqtt
        transports = set(getattr(getattr(cls, "manifest", None), "transports", ()) or ())
        if not self.settings.mqtt.isolate_adapters or "mqtt" not in transports \
                or shared is None or not hasattr(shared, "settings") \
                or self.settings.mqtt.mode == "memory":
            return
        from gateway.transports.mqtt import PahoMqttClient

        base = shared.settings  # the shared client's settings carry the broker's real port
        group = f"{base.share_group}.{instance_id}" if base.share_group else None
        client = PahoMqttClient(base, client_id=f"{base.client_id}.{instance_id}",
                                share_group=group)
        await client.connect()
        self._instance_mqtt[instance_id] = client

    def _new_sink(self, sub: Subscription) -> Any:
        try:
            cls = self.plugins.sinks.get(sub.sink)
            return cls(
                sub.settings,
                SinkServices(self.mqtt, self.clock, sub, self.settings.mqtt.northbound_prefix,
                             store=self.store, alarms=self.alarms, outbound=self.outbound,
                             limits=self.settings.subscription_limits, plugins=self.plugins,
                             alarm_reads=self.alarm_reads),
            )
        except Exception as err:
            raise ConfigError(f"subscription {sub.id}: cannot create sink {sub.sink!r}: "
                              f"{describe_invalid(err)}") \
                from err

    def _make_sink(self, sub: Subscription) -> None:
        self.sinks[sub.id] = self._new_sink(sub)

    def _check_destinations(self, sub: Subscription, sink: Any) -> None:
        """At start: what the outbound policy can judge without DNS (the rest is judged
        at each connection), so a configured metadata or private address stops the start."""
        if not sub.enabled:
            return
        for host, port in _destinations(sink):
            try:
                self.outbound.check_host(host, port)
            except OutboundRefused as err:
                raise ConfigError(f"subscription {sub.id}: {err}") from err

    async def add_subscription(self, sub: Subscription) -> None:
        """Create a subscription at run time (API, FHIR facade).

        Checked before anything is stored: the sink's settings, the tenant's quota
        (``subscription_limits.per_tenant``) and every destination the sink connects
        to, resolved through DNS, against the outbound policy.

        :raises ConfigError: the sink refuses its settings.
        :raises SubscriptionLimitError: the tenant has no subscription left.
        :raises OutboundRefused: a destination is refused.
        """
        limit = self.settings.subscription_limits.per_tenant
        have = sum(1 for s in self.store.subscriptions if s.tenant == sub.tenant and s.enabled
                   and s.id != sub.id)
        if have >= limit:
            raise SubscriptionLimitError(
                f"tenant {sub.tenant} already has {have} subscription(s); the limit is {limit} "
                "(subscription_limits.per_tenant)")
        sink = self._new_sink(sub)
        try:
            for host, port in _destinations(sink):
                await self.outbound.check_destination(host, port)
        except OutboundRefused:
            aclose = getattr(sink, "aclose", None)
            if aclose is not None:
                await aclose()
            raise
        await self.store.put_subscription(sub)
        self.sinks[sub.id] = sink
        if self.outbox is not None:
            self.outbox.ensure(sub)

    async def emit(self, events: Any) -> None:
        """Store events Navet derives itself (rules with timers use this)."""
        now = self.clock.now()
        result = await self.store.append([e.model_copy(update={"received": now}) for e in events])
        if result.seqs:
            self._committed(max(result.seqs))

    async def _start_mqtt(self) -> None:
        if self._mqtt is not None:
            if not self._mqtt.connected:
                await self._mqtt.connect()
            return
        from gateway.transports.factory import start_mqtt

        from .security.mqtt_tls import device_tls_listener

        # one client id per instance (scale-out): two clients with one id take turns at
        # the broker, each disconnecting the other
        mqtt = self.settings.mqtt.model_copy(update={"client_id": self.settings.mqtt_client_id})
        tls = (device_tls_listener(mqtt, self.settings.data_dir / "pki")  # the device CA
               if mqtt.mode == "embedded" and mqtt.device_tls_port else None)
        self._broker, self._mqtt = await start_mqtt(
            mqtt, data_dir=self.settings.data_dir / "mqtt", tls=tls)
        port = getattr(self._broker, "port", None)  # an embedded broker on a port it chose
        if isinstance(port, int) and port:
            self.outbound.add_listener(getattr(self._broker, "host", None), port,
                                       "Navet's MQTT broker")

    async def stop(self) -> None:
        """Stop intake first, then let rules and delivery finish what was accepted."""
        await self.alerts.stop()
        if self.settings.scale_out:  # leave the share groups, or the broker queues our turn
            for client in [*self._instance_mqtt.values(), self._mqtt]:
                unsubscribe = getattr(client, "unsubscribe_all", None)  # the in-memory twin: none
                try:
                    if unsubscribe is not None:
                        await unsubscribe()
                except Exception:
                    log.exception("MQTT unsubscribe at stop failed; another instance takes "
                                  "over the session")
        for client in [*self._instance_mqtt.values(), self._mqtt]:
            stop_intake = getattr(client, "stop_intake", None)  # frames in hand finish first
            if stop_intake is not None:
                try:
                    await stop_intake()
                except Exception:
                    log.exception("MQTT intake did not stop cleanly")
        if self._retention is not None:
            self._retention.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retention
            self._retention = None
        await self.supervision.stop()  # close open camera checks while adapters still run
        for inst_id, adapter in list(self.adapter_instances.items()):
            if inst_id not in self.hosts:
                continue
            stop = getattr(adapter, "stop", None)
            if stop is not None:
                try:
                    await stop()
                except Exception:
                    log.exception("adapter %s failed to stop cleanly", inst_id)
        if self.rules is not None:
            await self.rules.stop()
            try:
                await self.rules.drain()
            except Exception:
                log.exception("rules could not drain at shutdown; they resume at next start")
        if self._liveness_flush is not None:
            self._liveness_flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._liveness_flush
            self._liveness_flush = None
            try:
                await self.liveness.flush(self.store)  # what was heard since the last flush
            except Exception:
                log.exception("last-seen times not written at shutdown")
        if self.outbox is not None:
            await self.outbox.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        for sub_id, sink in self.sinks.items():  # sinks holding connections (webhooks) close them
            aclose = getattr(sink, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:
                    log.exception("sink %s failed to close cleanly", sub_id)
        for inst_id, client in list(self._instance_mqtt.items()):
            try:
                await client.disconnect()
            except Exception:
                log.exception("MQTT disconnect of adapter instance %s failed", inst_id)
        self._instance_mqtt.clear()
        if self._mqtt is not None:
            try:
                await self._mqtt.disconnect()
            except Exception:
                log.exception("MQTT disconnect failed")
        if self._broker is not None:
            await self._broker.stop()
        await self.audit.stop_checkpoints()  # after the last thing that audits
        self.store.close()
        self.started = False


def _destinations(sink: Any) -> list[tuple[str, int]]:
    """The ``(host, port)`` pairs a sink connects to (its ``destinations()``), if it says."""
    destinations = getattr(sink, "destinations", None)
    return list(destinations()) if callable(destinations) else []
