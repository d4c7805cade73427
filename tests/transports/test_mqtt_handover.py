"""Paho's network thread hands its callbacks to the event loop in batches (issue 15)."""

from __future__ import annotations

import asyncio
import threading

from gateway.transports.mqtt import PahoMqttClient
from gateway.transports.settings import MqttSettings


def _client() -> PahoMqttClient:
    return PahoMqttClient(MqttSettings(host="127.0.0.1", port=1883), client_id="handover")


async def test_a_burst_from_the_network_thread_is_one_wake_up_in_arrival_order() -> None:
    client = _client()
    client._loop = asyncio.get_running_loop()  # as connect() sets it
    seen: list[int] = []
    wake_ups = 0
    take = client._take_handover

    def counted() -> None:
        nonlocal wake_ups
        wake_ups += 1
        take()

    client._take_handover = counted  # type: ignore[method-assign]

    def network_thread(numbers: range) -> None:
        for n in numbers:
            client._to_loop(seen.append, n)

    # the loop is busy (blocked in join) while paho hands over 500 callbacks
    thread = threading.Thread(target=network_thread, args=(range(500),))
    thread.start()
    thread.join()
    assert seen == []  # nothing runs on the network thread
    await asyncio.sleep(0)
    assert seen == list(range(500))
    assert wake_ups == 1

    thread = threading.Thread(target=network_thread, args=(range(500, 503),))
    thread.start()
    thread.join()
    await asyncio.sleep(0)
    assert seen == list(range(503)) and wake_ups == 2  # the next burst wakes it again


async def test_a_failing_callback_does_not_stop_the_ones_after_it() -> None:
    client = _client()
    client._loop = asyncio.get_running_loop()
    seen: list[str] = []

    def fail() -> None:
        raise RuntimeError("a bug in a callback")

    client._to_loop(seen.append, "before")
    client._to_loop(fail)
    client._to_loop(seen.append, "after")
    await asyncio.sleep(0)
    assert seen == ["before", "after"]


def test_the_client_handles_as_many_messages_at_once_as_the_broker_has_in_flight() -> None:
    """With fewer slots than the broker's window, in-flight messages would wait for a slot
    instead of sharing the store's next commit."""
    from gateway.transports.mosquitto import BrokerLimits

    assert _client().concurrency == BrokerLimits().max_inflight_messages
