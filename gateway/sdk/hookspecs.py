"""Hook specifications for Navet plugins.

Only :mod:`gateway.core.plugins` calls these. Built-in plugins under
``plugins/`` implement them exactly as installed third-party packages do,
registered through the ``navet`` entry-point group.

Hooks are synchronous registration and notification calls; anything that does
I/O lives on the registered objects (``async def start/stop/execute``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pluggy

if TYPE_CHECKING:
    from .adapters import AdapterRegistry
    from .model import EventBase
    from .sinks import SinkRegistry

hookspec = pluggy.HookspecMarker("navet")


@runtime_checkable
class FhirModel(Protocol):
    """A ``fhir.resources`` model (any pydantic FHIR R5 resource)."""

    def get_resource_type(self) -> str: ...

    def model_dump(self, *, mode: str = ...) -> dict[str, Any]: ...


FhirResource = Mapping[str, Any] | FhirModel
"""What ``navet_event_to_fhir`` may return: a resource as JSON (a mapping with
``resourceType``) or a ``fhir.resources`` model."""

# ---------------------------------------------------------------------------
# Registration hooks: called once while the gateway starts
# ---------------------------------------------------------------------------


@hookspec
def navet_register_adapters(registry: AdapterRegistry) -> None:
    """Register the device adapter classes this plugin provides.

    Called once during startup, after settings are loaded and before any
    transport connects, and by tools such as ``navet decode`` that need the
    adapters without a running gateway. Call ``registry.add(AdapterClass)``
    for each adapter; the return value is ignored. Do no I/O here.

    :param registry: Collects adapter classes by manifest name. Adding a
        name twice raises :class:`gateway.errors.DuplicateAdapterError`; an
        adapter whose contract range excludes the running contract is
        refused and listed in ``registry.refused``.

    .. versionadded:: 0.1
    """


@hookspec
def navet_register_sinks(registry: SinkRegistry) -> None:
    """Register northbound sink classes (forwarders, webhooks, brokers).

    Called once during startup, after adapters are registered. Call
    ``registry.add(SinkClass)`` for each sink kind; a tenant's
    configuration then creates subscriptions that deliver to them through
    the durable outbox. Do no I/O here.

    :param registry: Collects sink classes by their ``kind``.

    .. versionadded:: 0.1
    """


# ---------------------------------------------------------------------------
# Per-event hooks: called for every stored event (sync, no I/O)
# ---------------------------------------------------------------------------


@hookspec
def navet_event_stored(event: EventBase) -> None:
    """Observe an event after it is durably stored.

    Called once per new event (not for duplicates), in storage order, after
    the core rules have seen it. Must return quickly and do no I/O: sinks
    that deliver anywhere go through the outbox instead. Exceptions are
    logged and do not stop the pipeline.

    :param event: The stored event, ``received`` set. Treat it as read-only.
    :returns: Nothing; the return value is ignored.

    .. versionadded:: 0.1
    """


@hookspec(firstresult=True)
def navet_event_to_fhir(event: EventBase) -> FhirResource | None:
    """Return the FHIR R5 resource that represents ``event``, if this plugin knows it.

    Called by the FHIR facade for events of the plugin's own device kinds, on
    every path alike: a REST read, a search and a subscription notification
    map an event the same way. Stops at the first non-``None`` result; return
    ``None`` to let other plugins (or the core mapping) answer.

    :param event: The stored event. Treat it as read-only.
    :returns: A ``fhir.resources`` model or a resource as JSON, or ``None``.

    .. versionadded:: 0.1
    """
