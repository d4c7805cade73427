"""The two ends of the raw relay: one paho publisher, one paho subscriber, each its own process.

``publish`` sends the benchmark's Zigbee2MQTT frames with at most
``--inflight`` unacknowledged messages, so the send time written into each
frame is the moment it really left, not the moment it joined paho's internal
queue. ``--rate`` paces it (messages per second) for latency below saturation.

``subscribe`` is the baseline consumer: it counts messages and does nothing
else — no parsing, no storage — which is the ceiling any gateway sits under.

Usage (the benchmark runs these itself)::

    python -m bench.relay publish --port P --messages N --qos 1 --inflight 100
    python -m bench.relay subscribe --port P --messages N --qos 1
"""

from __future__ import annotations

import argparse
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.children import emit
from bench.frames import BASE_TOPIC, SendClock, payload, topic


def _client(client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv311)
    return client


def _connect(client: mqtt.Client, port: int, timeout: float) -> None:
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, rc, props: connected.set()
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    if not connected.wait(timeout):
        raise TimeoutError(f"no CONNACK from 127.0.0.1:{port} within {timeout} s")


def publish(
    port: int, count: int, qos: int, inflight: int, timeout: float, rate: float = 0.0,
    alarm_every: int = 0,
) -> None:
    client = _client("bench-publisher")
    client.max_inflight_messages_set(inflight)
    window = threading.BoundedSemaphore(inflight)
    done = threading.Event()
    acked = 0

    def on_publish(c: object, u: object, mid: int, rc: object, props: object) -> None:
        nonlocal acked
        acked += 1
        window.release()
        if acked == count:
            done.set()

    client.on_publish = on_publish
    _connect(client, port, timeout)
    print("READY", flush=True)
    deadline = time.monotonic() + timeout
    clock = SendClock()
    start = time.time()
    for i in range(count):
        if rate > 0:  # frame i leaves at start + i / rate, not earlier
            time.sleep(max(0.0, start + i / rate - time.time()))
        if not window.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise TimeoutError(f"broker stopped acknowledging after {acked} of {count}")
        # the send time is read only now, after any wait, so latency starts here
        client.publish(topic(i, alarm_every), payload(i, clock.next(), alarm_every), qos=qos)
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise TimeoutError(f"only {acked} of {count} publishes completed in {timeout} s")
    end = time.time()
    client.disconnect()
    client.loop_stop()
    emit({"sent": count, "start": start, "end": end})


def subscribe(port: int, count: int, qos: int, timeout: float) -> None:
    client = _client("bench-subscriber")
    subscribed = threading.Event()
    done = threading.Event()
    received = 0
    first = last = 0.0

    def on_message(c: object, u: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        last = time.time()
        if received == 0:
            first = last
        received += 1
        if received == count:
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
    _connect(client, port, timeout)
    client.subscribe(f"{BASE_TOPIC}/+", qos=qos)
    if not subscribed.wait(timeout):
        raise TimeoutError("no SUBACK")
    print("READY", flush=True)
    done.wait(timeout)
    client.disconnect()
    client.loop_stop()
    emit({"received": received, "first": first, "last": last})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay")
    parser.add_argument("role", choices=["publish", "subscribe"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
    parser.add_argument("--inflight", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.0, help="msgs/s; 0 = flat out")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--alarm-every", type=int, default=0,
                        help="every N-th frame is a water-leak alarm (0: none)")
    args = parser.parse_args(argv)
    try:
        if args.role == "publish":
            publish(args.port, args.messages, args.qos, args.inflight, args.timeout, args.rate,
                    args.alarm_every)
        else:
            subscribe(args.port, args.messages, args.qos, args.timeout)
    except Exception as err:  # report to the parent instead of a bare traceback
        emit({"error": f"{args.role}: {type(err).__name__}: {err}"})
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
