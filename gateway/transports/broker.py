"""The MQTT broker Navet starts itself in the embedded default (``mqtt.mode: embedded``).

Two implementations behind one small handle:

* ``mosquitto`` — a Mosquitto found on the machine, run as a child process with
  the configuration from :mod:`gateway.transports.mosquitto` (unlimited queues,
  persistence). Preferred: it is fast and loses nothing under load.
* ``amqtt`` — the pure-Python amqtt broker inside this process, so the embedded
  default needs nothing but Python. About 1,100 QoS 1 messages/s here (DESIGN.md);
  enough for a demo or a small site. Its sessions live in memory only, so queued
  messages do not survive a restart of Navet, and it forgets a QoS 1 message that
  was sent to a client but not acknowledged when that client disconnects (so a
  handler that failed does not get the message again, unlike Mosquitto).

``impl="auto"`` picks Mosquitto when ``shutil.which("mosquitto")`` finds it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Literal

from gateway.errors import TransportError

from .mosquitto import BrokerLimits, MosquittoProcess, TlsListener, pick_free_port, port_open

log = logging.getLogger(__name__)

BrokerImpl = Literal["auto", "mosquitto", "amqtt"]


class EmbeddedBroker:
    """Start and stop an MQTT broker listening on ``host:port`` (``port=0``: pick a free one).

    After :meth:`start`, :attr:`port` is the port actually listened on and
    :attr:`impl` says which broker runs.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        impl: BrokerImpl = "auto",
        data_dir: Path | None = None,
        limits: BrokerLimits | None = None,
        tls: TlsListener | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.requested_impl: BrokerImpl = impl
        self.impl: Literal["mosquitto", "amqtt"] | None = None
        self.data_dir = data_dir
        self.limits = limits
        self.tls = tls  # a second listener for client certificates (Mosquitto only)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._mosquitto: MosquittoProcess | None = None
        self._amqtt: Any = None

    def _choose(self) -> Literal["mosquitto", "amqtt"]:
        if self.requested_impl == "auto":
            return "mosquitto" if shutil.which("mosquitto") else "amqtt"
        return self.requested_impl

    async def start(self) -> None:
        """Start the broker; return once its port accepts connections."""
        if self.impl is not None:
            return
        impl = self._choose()
        if self.tls is not None and impl != "mosquitto":
            raise TransportError(
                f"the device TLS listener (mqtt.device_tls_port {self.tls.port}) needs "
                "Mosquitto as the embedded broker; amqtt has no client certificates or "
                "topic ACLs: install Mosquitto (apt-get install mosquitto)")
        if self.port == 0:
            self.port = pick_free_port(self.host)
        if impl == "mosquitto":
            proc = MosquittoProcess(
                self.host, self.port, data_dir=self.data_dir, limits=self.limits, tls=self.tls,
                start_timeout=self.start_timeout, stop_timeout=self.stop_timeout,
            )
            await proc.start()
            self._mosquitto = proc
        else:
            await self._start_amqtt()
        self.impl = impl
        log.info("embedded MQTT broker (%s) listening on %s:%d", impl, self.host, self.port)

    async def _start_amqtt(self) -> None:
        from amqtt.broker import Broker  # type: ignore[import-untyped]  # amqtt ships no types

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {f"{__name__}.OpenSessionAuth": {}},
        }
        broker = Broker(config)
        try:
            await asyncio.wait_for(broker.start(), self.start_timeout)
        except Exception as err:
            raise TransportError(
                f"embedded amqtt broker could not listen on {self.host}:{self.port}: {err}"
            ) from err
        self._amqtt = broker
        deadline = time.monotonic() + self.start_timeout
        while not await asyncio.to_thread(port_open, self.host, self.port):
            if time.monotonic() > deadline:
                await self.stop()
                raise TransportError(
                    f"embedded amqtt broker on {self.host}:{self.port} accepts no connections"
                )
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop the broker (Mosquitto: SIGTERM, then SIGKILL after ``stop_timeout``)."""
        if self._mosquitto is not None:
            proc, self._mosquitto = self._mosquitto, None
            await proc.stop()
            proc.cleanup()
        if self._amqtt is not None:
            broker, self._amqtt = self._amqtt, None
            try:
                await asyncio.wait_for(broker.shutdown(), self.stop_timeout)
            except Exception:
                log.exception("embedded amqtt broker did not shut down cleanly")
        self.impl = None

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@functools.cache
def _open_session_auth() -> type:
    """amqtt auth plugin: accept every client *without* marking it anonymous.

    amqtt's own ``AnonymousAuthPlugin`` flags every session it lets in as
    anonymous, and amqtt keeps neither subscriptions nor queued QoS 1 messages
    for an anonymous session while it is offline, so the gateway's persistent
    session would silently lose what arrived during a reconnect.
    """
    from dataclasses import dataclass

    from amqtt.plugins.base import BaseAuthPlugin  # type: ignore[import-untyped]  # no types

    class _OpenSessionAuth(BaseAuthPlugin):  # type: ignore[misc]  # amqtt is untyped
        @dataclass
        class Config:
            pass

        async def authenticate(self, *, session: Any) -> bool:
            return True

    return _OpenSessionAuth


def __getattr__(name: str) -> Any:
    # amqtt loads plugins by dotted name; build the class lazily so importing this
    # module does not import amqtt when Mosquitto is used.
    if name == "OpenSessionAuth":
        return _open_session_auth()
    raise AttributeError(name)
