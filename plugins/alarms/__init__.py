"""Social alarms, passive sensors and GPS alarms: the adapters that raise alarms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .dc09 import Dc09Adapter
from .dc09.transmitter import Dc09ForwardSink
from .gps import StigfinnareAdapter
from .scaip import ScaipAdapter
from .scaip.forwarder import ScaipForwardSink
from .zigbee2mqtt import Zigbee2MqttAdapter

if TYPE_CHECKING:
    from gateway import AdapterRegistry, SinkRegistry


@hookimpl
def navet_register_sinks(registry: SinkRegistry) -> None:
    registry.add(Dc09ForwardSink)  # forwarding to existing alarm receiving centres
    registry.add(ScaipForwardSink)


@hookimpl
def navet_register_adapters(registry: AdapterRegistry) -> None:
    registry.add(Zigbee2MqttAdapter)
    registry.add(Dc09Adapter)
    registry.add(ScaipAdapter)
    registry.add(StigfinnareAdapter)
