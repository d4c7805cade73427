"""Listeners that a flood cannot starve, and refusals that are counted.

Shared by every adapter that owns a socket (DC-09, SCAIP) and by the HTTP ingress:

- :mod:`.settings` — the ``listener:`` options of an adapter instance;
- :mod:`.proxy` — the PROXY protocol (v1, v2) from trusted load balancers;
- :mod:`.admission` — connection slots: limits per source address until a connection has
  proved itself, a deadline to do so, and who makes room when the listener is full;
- :mod:`.fair` — per-source datagram queues served round-robin, bounded;
- :mod:`.datagram` — a UDP socket drained in batches into them, kernel drops counted;
- :mod:`.refusals` — every refusal counted (``/metrics``), logged without flooding, sampled
  into the dead letters;
- :mod:`.tls` — a TLS listener behind a balancer: the PROXY header first, then TLS;
- :mod:`.listener` — :class:`ListenerIntake`, the one object an adapter uses.
"""

from .admission import Admission, Connection
from .datagram import DatagramEndpoint
from .fair import FairQueue
from .listener import ListenerIntake
from .proxy import ProxyError, ProxyHeader
from .refusals import RefusalLog, RefusalSink
from .settings import ListenerSettings, ProxyProtocolSettings
from .tls import ProxiedTlsServer

__all__ = [
    "Admission",
    "Connection",
    "DatagramEndpoint",
    "FairQueue",
    "ListenerIntake",
    "ListenerSettings",
    "ProxiedTlsServer",
    "ProxyError",
    "ProxyHeader",
    "ProxyProtocolSettings",
    "RefusalLog",
    "RefusalSink",
]
