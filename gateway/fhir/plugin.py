"""Registers the FHIR subscription channels as Navet sinks (entry point ``fhir``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway import hookimpl

from .channels import FhirRestHookSink, FhirWebSocketSink

if TYPE_CHECKING:
    from gateway import SinkRegistry


@hookimpl
def navet_register_sinks(registry: SinkRegistry) -> None:
    registry.add(FhirRestHookSink)
    registry.add(FhirWebSocketSink)
