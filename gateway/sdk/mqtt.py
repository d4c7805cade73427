"""The async MQTT interface every MQTT client in Navet satisfies.

Two implementations exist: :mod:`gateway.transports.mqtt` (paho-mqtt, the
only module that imports it) and :mod:`gateway.transports.memory` (an
in-process twin for tests and simulators). Code is written against
:class:`MqttClient` and never knows which one it has.

Acknowledgement rule: a QoS 1 message is acknowledged to the broker only
after its handler returned without raising. A handler raises when the
gateway could not store the message, so the broker sends it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class MqttMessage:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False


Handler = Callable[[MqttMessage], Awaitable[None]]


class MqttClient(Protocol):
    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def subscribe(self, topic_filter: str, handler: Handler, qos: int = 1) -> None:
        """Route messages matching ``topic_filter`` to ``handler`` (awaited, in order)."""
        ...

    async def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish; for QoS 1 return once the broker has acknowledged it."""
        ...


SHARE_PREFIX = "$share/"


def shared_filter(group: str, topic_filter: str) -> str:
    """``topic_filter`` as a shared subscription of ``group``: ``$share/<group>/<filter>``.

    The broker hands each matching message to one subscriber of the group (Mosquitto:
    round robin), so several Navet instances on one broker split the messages instead of
    each taking all of them. A filter that is already shared is left as it is.
    """
    if not group or any(c in group for c in "/+#"):
        raise ValueError(f"a share group is a name without '/', '+' or '#', got {group!r}")
    if topic_filter.startswith(SHARE_PREFIX):
        return topic_filter
    return f"{SHARE_PREFIX}{group}/{topic_filter}"


def plain_filter(topic_filter: str) -> str:
    """The filter a ``$share/<group>/<filter>`` subscription matches topics with."""
    if topic_filter.startswith(SHARE_PREFIX):
        parts = topic_filter.split("/", 2)
        if len(parts) == 3 and parts[1] and parts[2]:
            return parts[2]
    return topic_filter


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic filter matching with ``+`` and ``#`` wildcards ($-topics excluded).

    A shared subscription (``$share/<group>/<filter>``) matches what its filter matches:
    messages arriving on it go to the same handler as the plain filter's would.
    """
    topic_filter = plain_filter(topic_filter)
    if topic.startswith("$") and not topic_filter.startswith("$"):
        return False
    f_parts = topic_filter.split("/")
    t_parts = topic.split("/")
    for i, f in enumerate(f_parts):
        if f == "#":
            return True
        if i >= len(t_parts):
            return False
        if f != "+" and f != t_parts[i]:
            return False
    return len(f_parts) == len(t_parts)
