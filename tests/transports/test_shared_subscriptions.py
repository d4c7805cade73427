"""Shared subscriptions: several gateways on one broker split the messages (scale-out).

Against a real Mosquitto: two clients of one share group each get part of the
messages and none gets one twice; the handler is found through the plain filter.
"""

from __future__ import annotations

import pytest

from gateway.core.settings import Settings
from gateway.transports.base import plain_filter, shared_filter, topic_matches
from gateway.transports.mosquitto import MosquittoProcess

from .conftest import ClientFactory, Inbox, wait_until


def test_a_shared_filter_matches_what_its_filter_matches() -> None:
    shared = shared_filter("navet", "zigbee2mqtt/+")
    assert shared == "$share/navet/zigbee2mqtt/+"
    assert plain_filter(shared) == "zigbee2mqtt/+"
    assert topic_matches(shared, "zigbee2mqtt/kitchen")
    assert not topic_matches(shared, "zigbee2mqtt/kitchen/availability")
    assert topic_matches("$share/g/#", "a/b") and not topic_matches("$share/g/#", "$SYS/x")
    assert shared_filter("other", shared) == shared  # already shared: left as it is
    with pytest.raises(ValueError, match="share group"):
        shared_filter("a/b", "x/#")


def test_each_instance_has_its_own_client_id() -> None:
    pg = "postgresql://navet@db/navet"
    one = Settings(mqtt={"share_group": "navet"}, instance="a", database=pg)
    two = Settings(mqtt={"share_group": "navet"}, instance="b", database=pg)
    assert (one.mqtt_client_id, two.mqtt_client_id) == ("navet-gateway.a", "navet-gateway.b")
    default = Settings(mqtt={"share_group": "navet"}, database=pg)
    assert default.mqtt_client_id.startswith("navet-gateway.") and \
        default.instance_name.endswith(f"-{__import__('os').getpid()}")
    assert Settings().mqtt_client_id == "navet-gateway"  # one process: the id it always had
    with pytest.raises(ValueError, match="needs a PostgreSQL database"):
        Settings(mqtt={"share_group": "navet"})  # SQLite is one process


async def test_two_clients_in_one_share_group_split_the_messages_none_twice(
    mosquitto: MosquittoProcess, mqtt_client: ClientFactory
) -> None:
    first = await mqtt_client(mosquitto.port, "navet-gateway.a", share_group="navet")
    second = await mqtt_client(mosquitto.port, "navet-gateway.b", share_group="navet")
    pub = await mqtt_client(mosquitto.port, "pub", persistent=False)
    inbox_a, inbox_b = Inbox(), Inbox()
    await first.subscribe("homes/+/door", inbox_a, qos=1)
    await second.subscribe("homes/+/door", inbox_b, qos=1)

    sent = [f"{i}".encode() for i in range(200)]
    for i, payload in enumerate(sent):
        await pub.publish(f"homes/h{i % 7}/door", payload, qos=1)

    await wait_until(lambda: len(inbox_a.messages) + len(inbox_b.messages) >= len(sent),
                     "every message to reach one of the two")
    a, b = inbox_a.payloads, inbox_b.payloads
    assert a and b, f"one share group member got nothing: {len(a)} and {len(b)}"
    assert sorted(a + b, key=int) == sent  # each message once, to one of them
    assert not set(a) & set(b)
    assert all(m.topic.startswith("homes/") for m in inbox_a.messages + inbox_b.messages)
