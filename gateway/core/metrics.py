"""Prometheus metrics, one registry per gateway so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.frames_in = Counter(
            "navet_frames_received", "Raw frames received, by adapter", ["adapter"], registry=r
        )
        self.events_in = Counter(
            "navet_events_in", "Events accepted into the inbox", ["adapter", "type"], registry=r
        )
        self.duplicates = Counter(
            "navet_events_duplicate", "Events dropped as duplicates (same id)", ["adapter"],
            registry=r,
        )
        self.events_out = Counter(
            "navet_events_out", "Events delivered by sinks", ["sink", "type"], registry=r
        )
        self.delivery_failures = Counter(
            "navet_delivery_failures", "Failed deliveries (will retry)", ["sink"], registry=r
        )
        self.dead_letters = Counter(
            "navet_dead_letters", "Frames kept in the dead-letter store", ["adapter"], registry=r
        )
        self.listener_refused = Counter(
            "navet_listener_refused",
            "Connections, datagrams and frames a protocol listener or the HTTP ingress refused "
            "or dropped, by listener (<instance>/<transport>, or http/ingress) and reason",
            ["listener", "reason"], registry=r,
        )
        self.store_errors = Counter(
            "navet_store_errors", "Writes the store refused (device not acknowledged)",
            registry=r,
        )
        self.outbox_depth = Gauge(
            "navet_outbox_depth", "Events waiting for delivery", ["subscription"], registry=r
        )
        self.ingest_latency = Histogram(
            "navet_ingest_latency_seconds",
            "From frame receipt to durable storage (when the device may be acknowledged)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.stream_clients = Gauge(
            "navet_stream_clients", "Connected live-stream clients", registry=r
        )
        self.system_alert = Gauge(
            "navet_system_alert", "1 while Navet itself cannot do its job (e.g. store unwritable)",
            ["alert"], registry=r,
        )
