"""Forwarding to alarm receiving centres that are not reached through a device protocol.

SOS Access v4 (SOS Alarm's interface) lives here; the DC-09 and SCAIP
forwarders live beside their receivers in ``plugins.alarms``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .sos_access import SosAccessSink

if TYPE_CHECKING:
    from gateway import SinkRegistry


@hookimpl
def navet_register_sinks(registry: SinkRegistry) -> None:
    registry.add(SosAccessSink)
