"""Moved to :mod:`gateway.sdk.hookspecs` (the SDK); kept for the old import path."""

from gateway.sdk.hookspecs import (
    FhirModel,
    FhirResource,
    hookspec,
    navet_event_stored,
    navet_event_to_fhir,
    navet_register_adapters,
    navet_register_sinks,
)

__all__ = [
    "FhirModel",
    "FhirResource",
    "hookspec",
    "navet_event_stored",
    "navet_event_to_fhir",
    "navet_register_adapters",
    "navet_register_sinks",
]
