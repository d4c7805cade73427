"""Northbound outputs: unified events to consumers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .mqtt_sink import MqttSink

if TYPE_CHECKING:
    from gateway import SinkRegistry


@hookimpl
def navet_register_sinks(registry: SinkRegistry) -> None:
    registry.add(MqttSink)
