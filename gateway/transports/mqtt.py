"""The MQTT client Navet uses against a real broker: paho-mqtt 2.x behind an async interface.

This is the only module in Navet that imports paho. Paho runs its own network
thread (``loop_start``); everything it reports is handed to the asyncio loop in
one place, :meth:`PahoMqttClient._to_loop`, and all of this object's state is
touched only on the loop. That is why no lock is needed: a PUBACK callback can
only run on the loop after ``publish`` has registered its future.

Acknowledgement (the rule in :mod:`gateway.transports.base`): paho's manual
acks are on. A QoS 1 message is acked to the broker only after every handler
whose filter matches returned without raising. A handler raises when the
gateway could not store the message (disk full, database down); the message is
then not acknowledged and the handler is tried again, with backoff
(``retry_backoff``), on the same connection, until it succeeds: the topic's
later messages wait behind it, so order holds. Leaving it to the broker would
not do: a broker redelivers an unacknowledged message only when the client
reconnects, which may be days away, and once its in-flight window (Mosquitto:
20) is full of such messages it sends the client nothing more, so a store
failure of a few seconds would stop MQTT intake until the next restart (found
by ``bench/fault_soak.py``). If the connection is lost meanwhile, the retries
stop and the broker delivers the message again on the new connection, and the
topic's later messages from the old connection are not handled either (they
come again too, after it), so order still holds: the session survives
disconnects because the client id is stable and ``clean_session`` is off
(``persistent=True``).

Delivery to handlers keeps arrival order per topic (one device's messages are
never handled out of order), while messages on different topics are handled
concurrently, up to ``concurrency`` at a time, so the store can commit many
frames in one transaction instead of one fsync per message. PUBACKs still go
to the broker in arrival order, as MQTT requires: a finished message is acked
only once every message that arrived before it has finished too.
A QoS 1 message no handler matches yet (the broker sends a persistent
session's messages right after CONNACK, before adapters subscribe again) is
parked unacknowledged until a matching :meth:`PahoMqttClient.subscribe`.
Reconnecting (with paho's exponential backoff) resubscribes every filter, in
case the broker lost the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from gateway.errors import TransportError

from .base import Handler, MqttMessage, shared_filter, topic_matches
from .settings import MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Incoming:
    message: MqttMessage
    mid: int
    session: int  # which connection delivered it; a mid is only valid on that one


@dataclass(slots=True)
class _Handling:
    """One message being handled; acked (if ``ok``) once it and all before it are done."""

    item: _Incoming
    done: bool = False
    ok: bool = False
    slot: bool = False  # holds one of the client's concurrency slots


class PahoMqttClient:
    """:class:`gateway.transports.base.MqttClient` over paho-mqtt.

    :param settings: broker address, credentials, TLS files and client id.
    :param persistent: keep the broker session across disconnects (clean_session off),
        so unacknowledged QoS 1 messages are redelivered. Needs a stable client id.
    :param connect_timeout: seconds :meth:`connect` waits for the broker's CONNACK.
    :param publish_timeout: seconds a QoS 1 :meth:`publish` waits for PUBACK.
    :param reconnect_delay: (first, max) seconds between reconnect attempts; doubles.
    :param retry_backoff: (first, max) seconds between tries of a message whose handler
        raised (the store could not write it); doubles.
    :param share_group: subscribe every filter as ``$share/<group>/<filter>``, so several
        gateways on one broker split the messages (scale-out); handlers are routed by the
        plain filter all the same.
    :param concurrency: messages handled at once (on different topics). The default is the
        in-flight window Navet's Mosquitto configuration gives a client
        (:class:`~gateway.transports.mosquitto.BrokerLimits`): every message the broker has
        in flight to the gateway can then be on its way into the store's next commit,
        instead of waiting here for a slot (with 64, commits held about 31 frames in the
        throughput benchmark; with 100, about 44).
    """

    max_parked: int = 10_000
    """QoS 1 messages kept while no handler matches them yet (see :meth:`_park`)."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str | None = None,
        persistent: bool = True,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
        publish_timeout: float = 30.0,
        reconnect_delay: tuple[float, float] = (0.5, 30.0),
        concurrency: int = 100,
        drain_timeout: float = 10.0,
        retry_backoff: tuple[float, float] = (0.2, 5.0),
        share_group: str | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.settings = settings
        self.concurrency = concurrency
        self.client_id = client_id if client_id is not None else settings.client_id
        self.broker = f"{settings.host}:{settings.port}"
        self.persistent = persistent
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self.drain_timeout = drain_timeout
        self.retry_backoff = retry_backoff
        self.share_group = share_group
        self.received = 0
        """Messages received since this object was made (all connections)."""
        if share_group is not None:
            shared_filter(share_group, "x")  # a bad group name fails here, not at SUBACK
        self._routes: list[tuple[str, Handler, int]] = []
        self._publishes: dict[int, asyncio.Future[None]] = {}
        self._subacks: dict[int, asyncio.Future[list[int]]] = {}
        self._incoming: asyncio.Queue[_Incoming | None] = asyncio.Queue()  # None: wake up
        self._parked: list[_Incoming] = []
        self._replay: deque[_Incoming] = deque()
        self._session = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connack: asyncio.Future[None] | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._acks: deque[_Handling] = deque()  # in arrival order, finished or not
        self._chains: dict[str, asyncio.Task[None]] = {}  # topic -> its latest handling
        self._handling: set[asyncio.Task[None]] = set()
        self._closing = False
        self._draining = False  # stop_intake: a failing handler is not tried again
        self._given_up: set[tuple[int, str]] = set()  # (session, topic) left to the broker
        self._handover: deque[tuple[Any, tuple[Any, ...]]] = deque()  # paho thread -> loop
        self._wake_pending = False  # a _take_handover is scheduled and has not started
        self._client = self._make_client(reconnect_delay)

    def _make_client(self, reconnect_delay: tuple[float, float]) -> paho.Client:
        s = self.settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=not self.persistent,
            protocol=MQTTProtocolVersion.MQTTv311,  # amqtt speaks 3.1.1 only
        )
        client.manual_ack_set(True)
        client.reconnect_delay_set(reconnect_delay[0], reconnect_delay[1])  # type: ignore[arg-type]
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls_ca or s.tls_cert:
            try:
                client.tls_set(ca_certs=s.tls_ca, certfile=s.tls_cert, keyfile=s.tls_key,
                               cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ssl.SSLError, ValueError) as err:
                raise TransportError(
                    f"MQTT TLS files for broker {self.broker} are unusable: {err}"
                ) from err
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        return client

    def __repr__(self) -> str:  # never shows the password
        user = self.settings.username or "anonymous"
        return f"<PahoMqttClient {self.client_id!r} {user}@{self.broker}>"

    # ------------------------------------------------------------------ interface

    @property
    def connected(self) -> bool:
        return bool(self._client.is_connected())

    async def connect(self) -> None:
        """Connect; raise TransportError naming host:port if no CONNACK within the timeout."""
        if self.connected:
            return
        self._loop = asyncio.get_running_loop()
        self._handover.clear()  # left from a loop that is gone: never to be run
        self._wake_pending = False
        self._closing = False
        self._draining = False
        self._given_up.clear()
        self._connack = self._loop.create_future()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(
                self._dispatch(), name=f"mqtt-dispatch-{self.client_id}")
        s = self.settings
        self._client.connect_async(s.host, s.port, keepalive=self.keepalive)
        self._client.loop_start()  # paho's network thread; it also reconnects with backoff
        try:
            await asyncio.wait_for(asyncio.shield(self._connack), self.connect_timeout)
        except (TimeoutError, TransportError) as err:
            await self._shutdown()
            if isinstance(err, TransportError):
                raise
            raise TransportError(
                f"cannot connect to MQTT broker {self.broker} within "
                f"{self.connect_timeout:g}s (client {self.client_id!r})"
            ) from err
        except BaseException:  # cancelled: do not leave paho's thread running
            await self._shutdown()
            raise
        log.info("MQTT client %s connected to %s", self.client_id, self.broker)

    async def disconnect(self) -> None:
        """Disconnect cleanly, draining first.

        No new message is started; the ones being handled may finish (at most
        ``drain_timeout`` seconds) and are acknowledged before the DISCONNECT, so a
        graceful stop leaves nothing half done. Messages not started stay unacked in
        the broker session and come again at the next connect.
        """
        if self._loop is None:
            return
        await self.stop_intake()
        self._closing = True
        self._client.disconnect()
        await self._shutdown()
        log.info("MQTT client %s disconnected from %s", self.client_id, self.broker)

    async def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Route ``topic_filter`` to ``handler``; once connected, wait for the SUBACK."""
        if self.share_group is not None and not topic_filter.startswith("$"):
            topic_filter = shared_filter(self.share_group, topic_filter)
        self._routes.append((topic_filter, handler, qos))
        self._unpark(topic_filter)
        if self.connected:
            await self._send_subscribe([(topic_filter, qos)])

    async def unsubscribe_all(self) -> None:
        """Tell the broker to send this session nothing new (the routes stay, so what it
        already queued or has in flight is still handled). Taking over a dead instance's
        session ends with this, so the session leaves its share groups."""
        filters = list(dict.fromkeys(f for f, _, _ in self._routes))
        if not filters or not self.connected:
            return
        assert self._loop is not None
        rc, mid = self._client.unsubscribe(filters)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise TransportError(f"cannot unsubscribe from {filters} on MQTT broker "
                                 f"{self.broker}: {paho.error_string(rc)}")
        fut: asyncio.Future[list[int]] = self._loop.create_future()
        self._subacks[mid] = fut  # UNSUBACK resolves it like a SUBACK
        try:
            await asyncio.wait_for(fut, self.publish_timeout)
        except TimeoutError as err:
            raise TransportError(f"no UNSUBACK for {filters} from MQTT broker "
                                 f"{self.broker}") from err
        finally:
            self._subacks.pop(mid, None)

    @property
    def routes(self) -> list[tuple[str, Handler, int]]:
        """(filter, handler, qos) of every :meth:`subscribe`, filters as sent to the broker."""
        return list(self._routes)

    @property
    def idle(self) -> bool:
        """Nothing received and not yet handled (a taken-over session is drained)."""
        return self._incoming.empty() and not self._replay and not self._acks

    async def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; for QoS 1 return once the broker's PUBACK arrived."""
        if self._loop is None or not self.connected:
            # Refuse rather than let paho queue it: the caller (outbox) retries on its own.
            raise TransportError(
                f"cannot publish to {topic!r}: not connected to MQTT broker {self.broker}"
            )
        data = payload.encode() if isinstance(payload, str) else payload
        info = self._client.publish(topic, data, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS,):
            raise TransportError(
                f"cannot publish to {topic!r} on MQTT broker {self.broker}: "
                f"{paho.error_string(info.rc)}"
            )
        if qos == 0:
            return
        fut = self._loop.create_future()
        self._publishes[info.mid] = fut  # before any await: the PUBACK hop runs after this
        try:
            await asyncio.wait_for(fut, self.publish_timeout)
        except TimeoutError as err:
            raise TransportError(
                f"no PUBACK for {topic!r} from MQTT broker {self.broker} within "
                f"{self.publish_timeout:g}s"
            ) from err
        except TransportError as err:
            raise TransportError(f"publish to {topic!r} failed: {err}") from err
        finally:
            self._publishes.pop(info.mid, None)

    # ------------------------------------------------------------------ the thread hop

    def _to_loop(self, fn: Any, *args: Any) -> None:
        """Run ``fn(*args)`` on the asyncio loop. Every paho callback goes through here.

        Paho calls back on its network thread; asyncio objects are not thread-safe,
        so the callbacks only copy what they need and schedule the real work.

        Hand-overs are batched: each goes on one ordered queue (``deque.append`` is
        atomic), and only the first after the loop emptied it wakes the loop
        (``call_soon_threadsafe``, a write to the loop's self-pipe). Under load the
        loop takes hundreds of messages per wake-up instead of one; connects,
        disconnects and PUBACKs share the queue, so their order with the messages
        is exactly the order paho saw them in.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self._handover.append((fn, args))
        if self._wake_pending:
            return
        self._wake_pending = True
        try:
            loop.call_soon_threadsafe(self._take_handover)
        except RuntimeError:  # loop closed between the check and the call
            self._wake_pending = False

    def _take_handover(self) -> None:
        """On the loop: run everything paho handed over, in order."""
        self._wake_pending = False  # first: a hand-over from now on wakes the loop again
        handover = self._handover
        while handover:
            fn, args = handover.popleft()
            try:
                fn(*args)
            except Exception:  # as call_soon would: log it, run the rest
                log.exception("MQTT client %s: handling a paho callback failed", self.client_id)

    # paho callbacks (network thread): copy, hop, nothing else.

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any,
                    reason: ReasonCode, properties: Any) -> None:
        self._to_loop(self._connected_cb, not reason.is_failure, str(reason),
                      bool(getattr(flags, "session_present", False)))

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any,
                       reason: ReasonCode, properties: Any) -> None:
        self._to_loop(self._disconnected_cb, str(reason))

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        message = MqttMessage(msg.topic, bytes(msg.payload), int(msg.qos), bool(msg.retain))
        self._to_loop(self._received_cb, message, int(msg.mid))

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int,
                    reason: ReasonCode, properties: Any) -> None:
        self._to_loop(self._puback_cb, mid, reason.is_failure, str(reason))

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int,
                      reasons: list[ReasonCode], properties: Any) -> None:
        self._to_loop(self._suback_cb, mid, [r.value for r in reasons])

    def _on_unsubscribe(self, client: paho.Client, userdata: Any, mid: int,
                        reasons: list[ReasonCode], properties: Any) -> None:
        self._to_loop(self._suback_cb, mid, [r.value for r in reasons or []])

    # loop-side handlers

    def _connected_cb(self, ok: bool, reason: str, session_present: bool) -> None:
        if not ok:
            err = TransportError(
                f"MQTT broker {self.broker} refused client {self.client_id!r}: {reason}")
            if self._connack is not None and not self._connack.done():
                self._connack.set_exception(err)
            else:
                log.error("%s", err)
            return
        self._session += 1
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(None)
        else:
            log.info("MQTT client %s reconnected to %s (session present: %s)",
                     self.client_id, self.broker, session_present)
        if self._routes:
            # Even with a persistent session: the broker may have lost it (restart
            # without persistence, expiry), and subscribing again is harmless.
            filters = list({f: q for f, _, q in self._routes}.items())
            task = asyncio.ensure_future(self._send_subscribe(filters))
            task.add_done_callback(_log_failure)

    def _disconnected_cb(self, reason: str) -> None:
        self._session += 1  # mids received on the old connection must not be acked now
        self._parked.clear()  # unacked: the broker delivers them again on the next session
        if not self._closing:
            log.warning("MQTT client %s lost broker %s (%s); reconnecting", self.client_id,
                        self.broker, reason)
        err = TransportError(f"connection to MQTT broker {self.broker} lost ({reason})")
        for fut in list(self._publishes.values()) + list(self._subacks.values()):
            if not fut.done():
                fut.set_exception(err)

    def _received_cb(self, message: MqttMessage, mid: int) -> None:
        self.received += 1
        self._incoming.put_nowait(_Incoming(message, mid, self._session))

    def _puback_cb(self, mid: int, failed: bool, reason: str) -> None:
        fut = self._publishes.get(mid)
        if fut is None or fut.done():
            return
        if failed:
            fut.set_exception(TransportError(f"MQTT broker {self.broker} refused: {reason}"))
        else:
            fut.set_result(None)

    def _suback_cb(self, mid: int, codes: list[int]) -> None:
        fut = self._subacks.get(mid)
        if fut is not None and not fut.done():
            fut.set_result(codes)

    # ------------------------------------------------------------------ internals

    async def _send_subscribe(self, filters: list[tuple[str, int]]) -> None:
        assert self._loop is not None
        rc, mid = self._client.subscribe(filters)
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise TransportError(
                f"cannot subscribe to {[f for f, _ in filters]} on MQTT broker {self.broker}: "
                f"{paho.error_string(rc)}"
            )
        fut: asyncio.Future[list[int]] = self._loop.create_future()
        self._subacks[mid] = fut
        try:
            codes = await asyncio.wait_for(fut, self.publish_timeout)
        except TimeoutError as err:
            raise TransportError(
                f"no SUBACK for {[f for f, _ in filters]} from MQTT broker {self.broker}"
            ) from err
        finally:
            self._subacks.pop(mid, None)
        refused = [f for (f, _), code in zip(filters, codes, strict=False) if code >= 0x80]
        if refused:
            raise TransportError(f"MQTT broker {self.broker} refused subscription to {refused}")

    def _unpark(self, topic_filter: str) -> None:
        """Hand parked messages the new route matches back to the dispatcher, oldest first."""
        matching: list[_Incoming] = []
        rest: list[_Incoming] = []
        for item in self._parked:
            (matching if topic_matches(topic_filter, item.message.topic) else rest).append(item)
        if not matching:
            return
        self._parked = rest
        self._replay.extend(matching)
        self._incoming.put_nowait(None)  # wake the dispatcher if it waits for the network

    async def _dispatch(self) -> None:
        """Start handling each message as it arrives: in order per topic, concurrently
        across topics (at most ``concurrency`` at once); acks go out in arrival order."""
        while True:
            item = self._replay.popleft() if self._replay else await self._incoming.get()
            if item is None:
                continue
            msg = item.message
            handlers = [h for f, h, _ in self._routes if topic_matches(f, msg.topic)]
            if not handlers:
                self._park(item)
                continue
            handling = _Handling(item)
            self._acks.append(handling)
            previous = self._chains.get(msg.topic)
            if previous is None:
                try:
                    await self._slots.acquire()  # a topic waiting its turn holds no slot
                except asyncio.CancelledError:  # stopping: this one stays unacked
                    handling.done = True
                    raise
                handling.slot = True
            task = asyncio.create_task(
                self._handle(handling, list(dict.fromkeys(handlers)), previous),
                name=f"mqtt-handle-{msg.topic}")
            self._chains[msg.topic] = task
            self._handling.add(task)
            task.add_done_callback(lambda t, topic=msg.topic: self._handled(t, topic))

    async def _handle(self, handling: _Handling, handlers: list[Handler],
                      previous: asyncio.Task[None] | None) -> None:
        try:
            if previous is not None:
                if not previous.done():
                    await asyncio.wait([previous])  # the topic's earlier message first
                await self._slots.acquire()
                handling.slot = True
            handling.ok = await self._run_handlers(handling.item, handlers)
        finally:
            handling.done = True
            if handling.slot:
                self._slots.release()
            self._send_acks()

    async def _run_handlers(self, item: _Incoming, handlers: list[Handler]) -> bool:
        """Run ``handlers`` (a handler under two filters runs once) until every one has
        succeeded; True then. A failed handler is tried again after a backoff, on this
        connection; False (not acknowledged) once the connection it came on is gone (the
        broker delivers it again on the next) or the client closes."""
        msg = item.message
        if self.persistent and (item.session, msg.topic) in self._given_up:
            return False  # an earlier message of this topic comes again first: so must this
        pending = handlers
        delay, cap = self.retry_backoff
        tries = 0
        while True:
            failed: list[Handler] = []
            for handler in pending:
                try:
                    await handler(msg)
                except Exception:
                    failed.append(handler)
                    if tries == 0:
                        log.exception("handler for %s (broker %s) failed; not acknowledged, "
                                      "trying again", msg.topic, self.broker)
            if not failed:
                if tries:
                    log.info("handler for %s succeeded after %d retries", msg.topic, tries)
                return True
            if self._closing or self._draining or item.session != self._session:
                log.warning("handler for %s failed and %s is stopping or lost its connection; "
                            "not acknowledged, the broker delivers it again", msg.topic,
                            self.client_id)
                self._given_up.add((item.session, msg.topic))
                return False
            tries += 1
            if tries % 20 == 0:
                log.warning("handler for %s still failing after %d retries", msg.topic, tries)
            pending = failed
            await asyncio.sleep(delay)
            delay = min(delay * 2, cap)

    def _handled(self, task: asyncio.Task[None], topic: str) -> None:
        self._handling.discard(task)
        if self._chains.get(topic) is task:
            del self._chains[topic]

    def _send_acks(self) -> None:
        """Ack every finished message at the head of the arrival order."""
        while self._acks and self._acks[0].done:
            handling = self._acks.popleft()
            item = handling.item
            if handling.ok and item.message.qos > 0 and item.session == self._session \
                    and self.connected:
                self._client.ack(item.mid, item.message.qos)

    def _park(self, item: _Incoming) -> None:
        """Keep a message no route wants yet, unacknowledged.

        With a persistent session the broker sends what it kept for us right
        after CONNACK, before the adapters have called :meth:`subscribe` again.
        Acking such a message would lose it; it waits here for its route instead.
        QoS 0 has no ack to withhold and is dropped. Past the cap the message is
        only forgotten locally: unacked, the broker still has it for the next session.
        """
        if item.message.qos == 0:
            log.debug("no route for %s (QoS 0); dropped", item.message.topic)
            return
        if len(self._parked) >= self.max_parked:
            log.warning("no route for %s; %d messages already wait for a subscriber, leaving "
                        "it with the broker", item.message.topic, len(self._parked))
            return
        self._parked.append(item)

    async def stop_intake(self) -> None:
        """Start no new message; let those in hand finish (``drain_timeout``) and ack them.
        Publishing still works: a gateway that stops delivers what it accepted."""
        self._draining = True  # a message whose store fails stays with the broker
        if self._dispatcher is not None:
            self._dispatcher.cancel()  # takes no new message
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        busy = [t for t in self._handling if not t.done()]
        if busy:
            _, pending = await asyncio.wait(busy, timeout=self.drain_timeout)
            if pending:
                log.warning("MQTT client %s: %d message(s) still being handled after %g s; "
                            "they stay unacknowledged and come again", self.client_id,
                            len(pending), self.drain_timeout)
        self._send_acks()

    async def _shutdown(self) -> None:
        """Stop paho's thread and the dispatcher; fail whatever still waits."""
        self._closing = True
        await asyncio.to_thread(self._client.loop_stop)
        self._disconnected_cb("client disconnected")
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        for task in list(self._handling):
            task.cancel()
        for task in list(self._handling):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._acks.clear()
        self._chains.clear()
        self._slots = asyncio.Semaphore(self.concurrency)
        # Messages still queued were never acked; the broker keeps them in the session.
        self._incoming = asyncio.Queue()
        self._replay.clear()
        self._loop = None


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("MQTT resubscribe failed: %s", task.exception())
