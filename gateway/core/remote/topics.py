"""The MQTT topics of one out-of-process adapter for one tenant (contract 1.3).

Everything an out-of-process adapter says or hears lives under one prefix,
``<prefix>/<tenant>/adapters/<adapter>/``, so the broker's topic ACL can give
each adapter identity exactly its own topics (:meth:`RemoteTopics.adapter_writes`
and :meth:`RemoteTopics.adapter_reads`, used by ``navet devices enroll --adapter``).

=================  ==================  ============================================
topic              direction           payload
=================  ==================  ============================================
``hello``          adapter -> Navet    retained: manifest, heartbeat interval, state
                                       (``online``; ``offline`` as the last will)
``heartbeat``      adapter -> Navet    ``{"time", "unacked"}`` every ``heartbeat_s``
``events``         adapter -> Navet    one CloudEvent (QoS 1); or ``events/<key>``
``acks``           Navet -> adapter    ``{"id", "status", "reason"}`` once stored
``welcome``        Navet -> adapter    the answer to ``hello``: accepted, or why not
``commands``       Navet -> adapter    one command to execute
``results``        adapter -> Navet    ``{"id", "accepted", "reason", "vendor_ref"}``
=================  ==================  ============================================
"""

from __future__ import annotations

from dataclasses import dataclass

ADAPTER_PUBLISHES = ("hello", "heartbeat", "events", "results")
"""Topics (last level) an out-of-process adapter publishes on."""
NAVET_PUBLISHES = ("acks", "welcome", "commands")
"""Topics (last level) only Navet publishes on; the adapter reads them."""


@dataclass(frozen=True, slots=True)
class RemoteTopics:
    tenant: str
    adapter: str
    prefix: str = "navet"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.tenant}/adapters/{self.adapter}"

    def __getattr__(self, name: str) -> str:  # .hello, .events, .acks, ...
        if name in ADAPTER_PUBLISHES or name in NAVET_PUBLISHES:
            return f"{self.base}/{name}"
        raise AttributeError(name)

    @property
    def events_by_key(self) -> str:
        """``events/<key>``: events of one key (a device) in order, keys in parallel."""
        return f"{self.base}/events/+"

    def adapter_writes(self) -> list[str]:
        """Topics the adapter's identity may publish on (its ACL ``topic write`` lines)."""
        return [f"{self.base}/{t}" for t in ADAPTER_PUBLISHES] + [self.events_by_key]

    def adapter_reads(self) -> list[str]:
        """Topics the adapter's identity may read (its ACL ``topic read`` lines)."""
        return [f"{self.base}/{t}" for t in NAVET_PUBLISHES]
