"""What an adapter is: its manifest, the raw frames it decodes, and the host
services it may use while running.

An adapter class declares ``manifest`` and implements ``decode``; adapters
that own I/O (subscribe to MQTT, listen on a socket, poll a vendor cloud)
also implement ``async start(host)`` / ``async stop()``, and adapters that
accept commands implement ``async execute(command)``. An adapter that listens
on sockets says where with ``listening()``, so the outbound policy never lets
anything be sent to them; one that connects out does so through
``host.outbound``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import DuplicateAdapterError, UnknownAdapterError
from .model import CONTRACT_VERSION, DeviceKind, EventBase

if TYPE_CHECKING:
    from .clock import Clock
    from .mqtt import MqttClient
    from .outbound import OutboundPolicy
    from .webhooks import WebhookHandler


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One message exactly as a transport received it.

    ``instance`` names the configured adapter instance that received it
    (empty means the adapter's default instance). ``address`` is where it
    came from on that transport (an MQTT topic, a SIP
    URI, a peer address, a webhook path). ``tenant`` is set by whoever knows
    it: the adapter instance's configuration, the listener, or the
    credential that sent it.
    """

    adapter: str
    tenant: str
    transport: str
    address: str
    payload: bytes
    received: datetime
    meta: Mapping[str, str] = field(default_factory=dict)
    instance: str = ""
    _ref: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def ref(self) -> str:
        """Content address of the frame, used to keep it for audit and replay.

        Hashed once, on first use: the pipeline, the store and the ingest result all
        name the frame by it."""
        ref = self._ref
        if ref is None:
            h = hashlib.sha256()
            for part in (self.adapter, self.tenant, self.transport, self.address):
                h.update(part.encode())
                h.update(b"\x1f")
            h.update(self.payload)
            ref = h.hexdigest()
            object.__setattr__(self, "_ref", ref)  # frozen: the cache is not a field's value
        return ref

    def json(self) -> Any:
        """The payload parsed as strict JSON (raises ``ValueError`` if it is not).

        ``NaN`` and ``Infinity`` are refused (they are not JSON, though Python's
        parser accepts them), and so is nesting too deep to parse.
        """
        try:
            return json.loads(self.payload, parse_constant=_reject_constant)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_VERSION_RANGE = re.compile(r"^\s*>=\s*(\d+)\.(\d+)\s*,\s*<\s*(\d+)(?:\.(\d+))?\s*$")


class Manifest(BaseModel):
    """What an adapter declares about itself. Checked when it is registered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,40}$")
    vendor: str
    description: str
    device_kinds: tuple[DeviceKind, ...]
    transports: tuple[str, ...]
    contract: str = Field(
        description="Contract versions supported, e.g. '>=1.0,<2'.", examples=[">=1.0,<2"]
    )
    commands: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    version: str = "0.1.0"

    @field_validator("contract")
    @classmethod
    def _range(cls, value: str) -> str:
        if not _VERSION_RANGE.match(value):
            raise ValueError(f"contract range must look like '>=1.0,<2', got {value!r}")
        return value

    def supports(self, version: str = CONTRACT_VERSION) -> bool:
        m = _VERSION_RANGE.match(self.contract)
        assert m is not None  # checked by the validator
        lo = (int(m[1]), int(m[2]))
        hi = (int(m[3]), int(m[4] or 0))
        major, minor = (int(x) for x in version.split(".")[:2])
        return lo <= (major, minor) < hi


class AdapterHost(Protocol):
    """Services the gateway lends a running adapter. Adapters never reach further."""

    clock: Clock
    tenant: str
    """The tenant (municipality) this adapter instance serves; frames carry it."""
    instance_id: str
    """This adapter instance's id; set it on every ``RawFrame`` (``instance=``)."""
    outbound: OutboundPolicy
    """Where the adapter may connect to. Open every outbound connection through it:
    ``outbound.http_client(...)``, ``await outbound.open_connection(host, port, ...)``,
    ``await outbound.datagram_endpoint(...)`` (docs/adapter-authors.md)."""

    environment: str
    """``development`` or ``production`` (the gateway's ``environment`` setting). In
    production an adapter refuses at ``start`` what is unsafe there (e.g. devices that
    authenticate with nothing), naming the setting that allows it.

    .. versionadded:: 1.1"""

    async def ingest(self, frame: RawFrame) -> IngestResult:
        """Decode, validate and durably store ``frame``; return when it is safe to ack."""
        ...

    def mqtt(self) -> MqttClient:
        """The MQTT client of this adapter instance (its broker, shared or its own)."""
        ...

    def add_webhook(self, path: str, handler: WebhookHandler) -> None:
        """Mount an HTTP ingress handler at ``/ingress/<instance>/<path>``.

        The handler gets a :class:`gateway.WebhookRequest` (body already read) and
        returns a :class:`gateway.WebhookResponse`, something JSON-able (200) or
        ``None`` (204). Raising ``PayloadError`` answers 400 with its message,
        ``StoreUnavailableError`` 503.
        """
        ...

    def listener_refused(self, listener: str, reason: str, count: int = 1) -> None:
        """Count connections, datagrams or frames a listener refused or dropped.

        Shown on ``/metrics`` as ``navet_listener_refused_total{listener, reason}``. Use it
        through :class:`gateway.ListenerIntake`, which also logs and samples within bounds.
        """
        ...

    async def keep_refused(self, frame: RawFrame, reason: str) -> None:
        """Keep ``frame`` (input a listener refused) with the dead letters, under ``reason``.

        Nothing is decoded; the frame shows in the dead-letter API and live view like any
        dead letter. Raises ``StoreUnavailableError`` when the store cannot write.
        """
        ...

    async def alarm_state(self, alarm: str) -> str | None:
        """The lifecycle state of ``alarm`` in this adapter's tenants as ``alarm.<state>``.

        None when the alarm is unknown.

        Protocol adapters use it to answer a device honestly, e.g. SCAIP HOLD
        while an operator is still handling the alarm. An alarm folded into another
        (a repeat press) has the state of the alarm it was folded into.
        """
        ...

    async def alarm_status(self, alarm: str) -> AlarmStatus | None:
        """The alarm ``alarm`` belongs to, and its state; None when it is unknown.

        A device's new alarm folded into its open one (``alarm.updated`` with
        ``data.folded``) belongs to that one: ``AlarmStatus.alarm`` names it and
        ``folded`` is true. Answer every reference of that alarm from this state,
        and ask for things that happen once per alarm (a voice call) only for the
        reference whose alarm is not folded. Read-only.

        .. versionadded:: 1.2
        """
        ...


@dataclass(frozen=True, slots=True)
class AlarmStatus:
    """What :meth:`AdapterHost.alarm_status` tells an adapter about one alarm id."""

    alarm: str
    """The alarm the id belongs to: the id itself, or the alarm it was folded into."""
    state: str
    """That alarm's lifecycle state as ``alarm.<state>`` (``alarm.raised``, ...)."""
    folded: bool = False
    """The id asked for was folded into ``alarm`` (a repeat of it, not an alarm of its own)."""

    @property
    def taken(self) -> bool:
        """A person (or the upstream centre) has the alarm, or it is over."""
        return self.state in ("alarm.acknowledged", "alarm.dispatched", "alarm.attended",
                              "alarm.closed", "alarm.cancelled")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to one frame; returned only once all of it is on disk.

    Storage failures raise ``StoreUnavailableError`` instead, and then the
    device must not be acknowledged, so it sends again.
    """

    frame: str
    accepted: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    dead_letter: str | None = None
    reason: str | None = None


@runtime_checkable
class Adapter(Protocol):
    manifest: ClassVar[Manifest]

    def decode(self, frame: RawFrame) -> list[EventBase]:
        """Turn one raw frame into events. Pure; raises only ``PayloadError``."""
        ...


class AdapterBase:
    """Convenience base: settings, and no-op start/stop for decode-only adapters."""

    manifest: ClassVar[Manifest]

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings: dict[str, Any] = dict(settings or {})

    async def start(self, host: AdapterHost) -> None:  # optional override
        """Connect transports. Called once when the gateway starts."""

    async def stop(self) -> None:  # optional override
        """Release transports. Called once when the gateway stops."""

    def listening(self) -> list[tuple[str, int]]:  # optional override
        """``(address, port)`` of each socket the adapter listens on, once started
        (``0.0.0.0``/``::`` for every address). Nothing is ever sent to them."""
        return []

    def decode(self, frame: RawFrame) -> list[EventBase]:
        raise NotImplementedError


class AdapterRegistry:
    """Collects adapter classes during ``navet_register_adapters``."""

    def __init__(self, contract: str = CONTRACT_VERSION) -> None:
        self.contract = contract
        self._adapters: dict[str, type[Adapter]] = {}
        self._owner: dict[str, str] = {}
        self.refused: dict[str, str] = {}
        self.current_plugin: str = "?"

    def add(self, adapter: type[Any]) -> None:
        """Register an adapter class.

        An adapter whose contract range excludes the running contract is not
        registered; the refusal, naming both versions, is kept in ``refused``
        and shown by ``navet plugins list``.

        :raises DuplicateAdapterError: a different class already has that name.
        """
        manifest: Manifest = adapter.manifest
        name = manifest.name
        if name in self._adapters and self._adapters[name] is not adapter:
            raise DuplicateAdapterError(
                f"adapter {name!r} from plugin {self.current_plugin!r} is already registered "
                f"by plugin {self._owner[name]!r}"
            )
        if not manifest.supports(self.contract):
            reason = (
                f"adapter {name!r} supports contract {manifest.contract} but this gateway "
                f"runs contract {self.contract}"
            )
            self.refused[name] = reason
            return
        self._adapters[name] = adapter
        self._owner[name] = self.current_plugin

    def get(self, name: str) -> type[Adapter]:
        try:
            return self._adapters[name]
        except KeyError:
            known = ", ".join(sorted(self._adapters)) or "none"
            raise UnknownAdapterError(f"no adapter named {name!r} (known: {known})") from None

    def owner(self, name: str) -> str:
        return self._owner[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._adapters.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._adapters

    def __len__(self) -> int:
        return len(self._adapters)
