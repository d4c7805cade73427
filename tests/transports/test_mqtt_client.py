"""PahoMqttClient against real brokers: round trips, acks, redelivery, reconnects, errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.errors import TransportError
from gateway.transports.base import MqttMessage
from gateway.transports.broker import EmbeddedBroker
from gateway.transports.mosquitto import MosquittoProcess

from .conftest import WAIT, ClientFactory, Inbox, wait_until


@pytest.mark.parametrize("qos", [0, 1])
async def test_round_trip_through_mosquitto(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory, qos: int
) -> None:
    sub = await mqtt_client(mosquitto.port, "rt-sub")
    pub = await mqtt_client(mosquitto.port, "rt-pub", persistent=False)
    inbox = Inbox()
    await sub.subscribe("homes/+/door", inbox, qos=qos)

    await pub.publish("homes/h1/door", b'{"contact": false}', qos=qos)
    await pub.publish("homes/h1/window", b"not routed", qos=qos)
    await pub.publish("homes/h2/door", "text payload", qos=qos)

    messages = await inbox.wait_for(2)
    assert [(m.topic, m.payload, m.qos) for m in messages] == [
        ("homes/h1/door", b'{"contact": false}', qos),
        ("homes/h2/door", b"text payload", qos),
    ]


@pytest.mark.parametrize("qos", [0, 1])
async def test_round_trip_through_embedded_broker(
    embedded: EmbeddedBroker, mqtt_client: ClientFactory, qos: int
) -> None:
    sub = await mqtt_client(embedded.port, "emb-sub")
    pub = await mqtt_client(embedded.port, "emb-pub", persistent=False)
    inbox = Inbox()
    await sub.subscribe("zigbee2mqtt/#", inbox, qos=qos)

    for i in range(20):
        await pub.publish(f"zigbee2mqtt/sensor{i}", f"{i}", qos=qos)

    await inbox.wait_for(20)
    assert inbox.payloads == [f"{i}".encode() for i in range(20)]


async def test_embedded_broker_keeps_messages_for_an_offline_gateway(
    embedded: EmbeddedBroker, mqtt_client: ClientFactory
) -> None:
    """QoS 1 messages sent while the gateway reconnects wait in its persistent session."""
    gateway = await mqtt_client(embedded.port, "offline-gw")
    inbox = Inbox()
    await gateway.subscribe("alarms/#", inbox, qos=1)
    await gateway.disconnect()
    pub = await mqtt_client(embedded.port, "offline-pub", persistent=False)
    for i in range(5):
        await pub.publish(f"alarms/unit{i}", f"alarm {i}", qos=1)

    await gateway.connect()

    await inbox.wait_for(5)
    assert inbox.payloads == [f"alarm {i}".encode() for i in range(5)]


async def test_failed_handler_is_tried_again_in_order_without_a_reconnect(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """The store failed twice: the message is not acked but tried again on the same
    connection, and the topic's next message waits for it."""
    gateway = await mqtt_client(mosquitto.port, "retry-gw", retry_backoff=(0.05, 0.2))
    handled = Inbox()
    failures = {"left": 2}

    async def store(msg: MqttMessage) -> None:
        if msg.payload == b"second" and failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("disk full")
        await handled(msg)

    await gateway.subscribe("z/#", store, qos=1)
    pub = await mqtt_client(mosquitto.port, "retry-pub", persistent=False)
    for payload in (b"first", b"second", b"third"):
        await pub.publish("z/door", payload, qos=1)
    await handled.wait_for(3)
    assert handled.payloads == [b"first", b"second", b"third"]
    assert failures["left"] == 0


async def test_a_store_outage_longer_than_the_brokers_in_flight_window_stops_no_intake(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """More messages fail than Mosquitto keeps in flight (20): once the store works again
    every one of them is stored, in order per topic, with no reconnect. Before, failed
    messages waited for a reconnect and a full in-flight window stopped intake for good."""
    gateway = await mqtt_client(mosquitto.port, "outage-gw", retry_backoff=(0.05, 0.3))
    handled = Inbox()
    outage = {"on": True, "refused": 0}

    async def store(msg: MqttMessage) -> None:
        if outage["on"]:
            outage["refused"] += 1
            raise RuntimeError("database or disk is full")
        await handled(msg)

    await gateway.subscribe("z/#", store, qos=1)
    pub = await mqtt_client(mosquitto.port, "outage-pub", persistent=False)
    sent = [(f"z/dev{i % 4}", f"{i}".encode()) for i in range(40)]
    for topic, payload in sent:
        await pub.publish(topic, payload, qos=1)
    await wait_until(lambda: outage["refused"] >= 20, "20 refused messages")
    outage["on"] = False

    await handled.wait_for(40)
    assert sorted(m.payload for m in handled.messages) == sorted(p for _, p in sent)
    for dev in range(4):
        topic = f"z/dev{dev}"
        assert [m.payload for m in handled.messages if m.topic == topic] == \
            [p for t, p in sent if t == topic]


async def test_failed_handler_message_is_redelivered_after_reconnect(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """The store still failed when the connection went: the message was not acked, so the
    broker sends it again on the next connection."""
    gateway = await mqtt_client(mosquitto.port, "redeliver-gw", retry_backoff=(0.05, 0.2))
    handled = Inbox()
    outage = {"on": True, "refused": 0}

    async def store(msg: MqttMessage) -> None:
        if msg.payload == b"second" and outage["on"]:
            outage["refused"] += 1
            raise RuntimeError("disk full")
        await handled(msg)

    await gateway.subscribe("z/#", store, qos=1)
    pub = await mqtt_client(mosquitto.port, "redeliver-pub", persistent=False)
    for payload in (b"first", b"second", b"third"):
        await pub.publish(f"z/{payload.decode()}", payload, qos=1)
    await handled.wait_for(2)
    await wait_until(lambda: outage["refused"] >= 2, "the store to refuse a retry")
    assert handled.payloads == [b"first", b"third"]

    await gateway.disconnect()
    outage["on"] = False
    await gateway.connect()

    await handled.wait_for(3)  # ... it comes back once the gateway reconnects
    assert handled.payloads == [b"first", b"third", b"second"]


async def test_a_topic_keeps_its_order_when_the_connection_goes_during_a_retry(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """The store fails for a1 while a2 (same topic) waits behind it; the broker restarts.
    a1 is given up on the old connection and a2, from that connection too, is not handled:
    the broker sends both again, a1 first. Before, a2 was stored ahead of a1."""
    gateway = await mqtt_client(mosquitto.port, "order-gw", retry_backoff=(0.05, 0.2))
    handled = Inbox()
    outage = {"on": True, "refused": 0}

    async def store(msg: MqttMessage) -> None:
        if msg.payload == b"a1" and outage["on"]:
            outage["refused"] += 1
            raise RuntimeError("disk full")
        await handled(msg)

    await gateway.subscribe("z/#", store, qos=1)
    pub = await mqtt_client(mosquitto.port, "order-pub", persistent=False)
    await pub.publish("z/door", b"a1", qos=1)
    await pub.publish("z/door", b"a2", qos=1)
    await wait_until(lambda: outage["refused"] >= 2, "the store to refuse a1")

    await mosquitto.restart()
    await wait_until(lambda: gateway.connected, "the gateway to reconnect")
    refused = outage["refused"]
    await wait_until(lambda: outage["refused"] > refused, "a1 delivered again")
    outage["on"] = False

    await handled.wait_for(2)
    assert handled.payloads[:2] == [b"a1", b"a2"]


async def test_successful_messages_are_not_redelivered(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    gateway = await mqtt_client(mosquitto.port, "acked-gw")
    inbox = Inbox()
    await gateway.subscribe("z/#", inbox, qos=1)
    pub = await mqtt_client(mosquitto.port, "acked-pub", persistent=False)
    await pub.publish("z/a", b"once", qos=1)
    await inbox.wait_for(1)

    await gateway.disconnect()
    await gateway.connect()
    await pub.publish("z/a", b"marker", qos=1)  # arrives after any redelivery would

    await inbox.wait_for(2)
    assert inbox.payloads == [b"once", b"marker"]


async def test_publish_qos1_to_stopped_broker_names_the_broker(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    pub = await mqtt_client(mosquitto.port, "stopped-pub", persistent=False)
    await mosquitto.stop()

    with pytest.raises(TransportError, match=f"127.0.0.1:{mosquitto.port}"):
        await pub.publish("navet/vasteras/events/alarm.raised", b"{}", qos=1)


async def test_connect_to_absent_broker_names_host_and_port(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    port = mosquitto.port
    await mosquitto.stop()

    with pytest.raises(TransportError, match=f"127.0.0.1:{port}"):
        await mqtt_client(port, "nobody-home", connect_timeout=1.0)


async def test_reconnects_and_resubscribes_after_broker_restart(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    gateway = await mqtt_client(mosquitto.port, "restart-gw")
    inbox = Inbox()
    await gateway.subscribe("z/+", inbox, qos=1)
    pub = await mqtt_client(mosquitto.port, "restart-pub", persistent=False)
    await pub.publish("z/before", b"before", qos=1)
    await inbox.wait_for(1)

    await mosquitto.stop()
    await wait_until(lambda: not gateway.connected, "the client to notice the broker is gone")
    # Throw the broker's memory away: only our own resubscription can route messages now.
    (mosquitto.data_dir / "mosquitto.db").unlink(missing_ok=True)
    await mosquitto.start()
    await wait_until(lambda: gateway.connected and pub.connected, "both clients to reconnect")

    # The resubscription races the first publish after reconnecting; a message sent
    # before the broker has it is not routed, so publish until one gets through.
    for attempt in range(50):
        await pub.publish("z/after", f"after {attempt}", qos=1)
        if await inbox.arrived(2, timeout=0.2):
            break
    assert inbox.payloads[0] == b"before"
    assert inbox.payloads[1].startswith(b"after")


async def test_password_is_not_in_repr(mosquitto: MosquittoProcess) -> None:
    from gateway.core.settings import MqttSettings
    from gateway.transports.mqtt import PahoMqttClient

    client = PahoMqttClient(MqttSettings(port=mosquitto.port, username="navet",
                                         password="s3cret-pw"))
    assert "s3cret-pw" not in repr(client)
    assert "navet@127.0.0.1" in repr(client)


async def test_messages_arriving_before_subscribe_wait_for_their_handler(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """After a restart the broker sends the session's messages before adapters subscribe.

    They must not be acked (and lost) for lack of a handler; they wait for it.
    """
    first_run = await mqtt_client(mosquitto.port, "restarted-gw")
    await first_run.subscribe("alarms/#", Inbox(), qos=1)
    await first_run.disconnect()
    pub = await mqtt_client(mosquitto.port, "early-pub", persistent=False)
    for i in range(3):
        await pub.publish(f"alarms/unit{i}", f"alarm {i}", qos=1)

    second_run = await mqtt_client(mosquitto.port, "restarted-gw")  # same session, no routes
    control = Inbox()
    await second_run.subscribe("control/#", control, qos=1)
    await pub.publish("control/marker", b"marker", qos=1)
    await control.wait_for(1)  # in order: the session's alarms reached the client before it
    alarms = Inbox()
    await second_run.subscribe("alarms/#", alarms, qos=1)

    await alarms.wait_for(3)
    assert alarms.payloads == [b"alarm 0", b"alarm 1", b"alarm 2"]


async def test_topics_are_handled_concurrently_in_order_per_topic_and_acked_in_arrival_order(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """A slow message on one topic holds back neither other topics nor its own order,
    and no PUBACK overtakes an earlier message that is still being handled."""
    consumer = await mqtt_client(mosquitto.port, "concurrent-consumer")
    acked: list[int] = []
    real_ack = consumer._client.ack

    def record_ack(mid: int, qos: int) -> Any:
        acked.append(mid)
        return real_ack(mid, qos)

    consumer._client.ack = record_ack  # type: ignore[method-assign]
    release = asyncio.Event()
    handled: list[str] = []
    all_b = asyncio.Event()

    async def handler(msg: MqttMessage) -> None:
        if msg.payload == b"a1":
            await release.wait()  # the first message on topic a is slow to store
        handled.append(msg.payload.decode())
        if sum(1 for h in handled if h.startswith("b")) == 3:
            all_b.set()

    await consumer.subscribe("order/#", handler, qos=1)
    producer = await mqtt_client(mosquitto.port, "concurrent-producer", persistent=False)
    for topic, payload in [("order/a", "a1"), ("order/b", "b1"), ("order/a", "a2"),
                           ("order/b", "b2"), ("order/b", "b3")]:
        await producer.publish(topic, payload.encode(), qos=1)

    await asyncio.wait_for(all_b.wait(), WAIT)
    assert handled == ["b1", "b2", "b3"]  # topic b went ahead; a2 waits behind a1
    assert acked == []  # a1 arrived first and is not stored yet: nothing may be acked
    release.set()
    await wait_until(lambda: len(acked) >= 5, "five acknowledgements", timeout=WAIT)
    assert handled == ["b1", "b2", "b3", "a1", "a2"]
    assert len(acked) == 5 and acked == sorted(acked)  # arrival order (mids rise with it)


async def test_concurrency_one_handles_strictly_in_arrival_order(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    consumer = await mqtt_client(mosquitto.port, "serial-consumer", concurrency=1)
    got: list[str] = []
    done = asyncio.Event()

    async def handler(msg: MqttMessage) -> None:
        await asyncio.sleep(0.001 if msg.topic.endswith("a") else 0)
        got.append(msg.payload.decode())
        if len(got) == 6:
            done.set()

    await consumer.subscribe("serial/#", handler, qos=1)
    producer = await mqtt_client(mosquitto.port, "serial-producer", persistent=False)
    sent = [f"{t}{i}" for i in range(3) for t in "ab"]
    for payload in sent:
        await producer.publish(f"serial/{payload[0]}", payload.encode(), qos=1)
    await asyncio.wait_for(done.wait(), WAIT)
    assert got == sent


async def test_a_topic_backed_up_behind_itself_holds_no_slot_so_others_go_on(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """Messages waiting behind an earlier message of their own topic must not take the
    handler slots: with two slots, a stuck flood topic still leaves one for a leak."""
    consumer = await mqtt_client(mosquitto.port, "slots-consumer", concurrency=2)
    release = asyncio.Event()
    handled: list[str] = []
    leak = asyncio.Event()

    async def handler(msg: MqttMessage) -> None:
        if msg.payload == b"flood-0":
            await release.wait()  # the flood's first message is slow
        handled.append(msg.payload.decode())
        if msg.topic == "slots/leak":
            leak.set()

    await consumer.subscribe("slots/#", handler, qos=1)
    producer = await mqtt_client(mosquitto.port, "slots-producer", persistent=False)
    for i in range(5):
        await producer.publish("slots/flood", f"flood-{i}".encode(), qos=1)
    await producer.publish("slots/leak", b"leak", qos=1)
    await asyncio.wait_for(leak.wait(), WAIT)  # not stuck behind the flood's four waiters
    assert handled == ["leak"]
    release.set()
    await wait_until(lambda: len(handled) >= 6, "the flood handled", timeout=WAIT)
    assert handled == ["leak"] + [f"flood-{i}" for i in range(5)]


async def test_a_graceful_disconnect_lets_messages_in_hand_finish_and_acks_them(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    """SIGTERM in the middle of storing: the frame is stored, acked, and not sent again."""
    gateway = await mqtt_client(mosquitto.port, "drain-gw")
    started, finished = asyncio.Event(), Inbox()

    async def slow_store(msg: MqttMessage) -> None:
        started.set()
        await asyncio.sleep(0.3)  # a commit in progress when the stop comes
        await finished(msg)

    await gateway.subscribe("z/#", slow_store, qos=1)
    pub = await mqtt_client(mosquitto.port, "drain-pub", persistent=False)
    await pub.publish("z/bed", b"in hand", qos=1)
    await asyncio.wait_for(started.wait(), WAIT)

    await gateway.disconnect()
    assert finished.payloads == [b"in hand"]  # finished, not cancelled

    await gateway.connect()
    await pub.publish("z/bed", b"marker", qos=1)  # arrives after any redelivery would
    await finished.wait_for(2)
    assert finished.payloads == [b"in hand", b"marker"]  # it was acked: no second delivery
