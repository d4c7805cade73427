"""An in-process MQTT twin: a broker object and clients with the real interface.

No sockets, no threads; messages are delivered on the event loop in publish
order. Retained messages and QoS 1 redelivery of unacknowledged messages
(a handler that raised) are modelled because the pipeline relies on them.
"""

from __future__ import annotations

import asyncio
import logging

from .base import Handler, MqttMessage, topic_matches

log = logging.getLogger(__name__)


class MemoryBroker:
    def __init__(self) -> None:
        self.clients: list[MemoryMqttClient] = []
        self.retained: dict[str, MqttMessage] = {}
        self.published = 0

    def client(self, client_id: str = "") -> MemoryMqttClient:
        return MemoryMqttClient(self, client_id)

    async def route(self, msg: MqttMessage) -> None:
        self.published += 1
        if msg.retain:
            if msg.payload:
                self.retained[msg.topic] = msg
            else:
                self.retained.pop(msg.topic, None)
        for client in list(self.clients):
            await client._offer(msg)


class MemoryMqttClient:
    def __init__(self, broker: MemoryBroker, client_id: str = "") -> None:
        self.broker = broker
        self.client_id = client_id
        self._routes: list[tuple[str, Handler, int]] = []
        self._queue: asyncio.Queue[tuple[Handler, MqttMessage]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._connected = False
        self.unacked: list[MqttMessage] = []

    @property
    def connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        self._connected = True
        if self not in self.broker.clients:
            self.broker.clients.append(self)
        self._task = asyncio.create_task(self._pump(), name=f"mqtt-memory-{self.client_id}")
        pending, self.unacked = self.unacked, []
        for msg in pending:  # QoS 1: redeliver what was never acknowledged
            await self._offer(msg)

    async def disconnect(self) -> None:
        self._connected = False
        if self in self.broker.clients:
            self.broker.clients.remove(self)
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        self._routes.append((topic_filter, handler, qos))
        for topic, msg in list(self.broker.retained.items()):
            if topic_matches(topic_filter, topic):
                await self._queue.put((handler, msg))

    async def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        await self.broker.route(MqttMessage(topic, data, qos, retain))

    async def _offer(self, msg: MqttMessage) -> None:
        for topic_filter, handler, qos in self._routes:
            if topic_matches(topic_filter, msg.topic):
                await self._queue.put((handler, MqttMessage(msg.topic, msg.payload,
                                                            min(qos, msg.qos), msg.retain)))
                return

    async def _pump(self) -> None:
        while True:
            handler, msg = await self._queue.get()
            try:
                await handler(msg)
            except Exception:
                log.exception("handler for %s failed; message kept for redelivery", msg.topic)
                if msg.qos > 0:
                    self.unacked.append(msg)
            finally:
                self._queue.task_done()

    async def drain(self) -> None:
        """Wait until every queued message has been handled (tests)."""
        await self._queue.join()
