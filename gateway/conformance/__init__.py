"""The conformance kit: an adapter checked against the contract it claims.

``navet conformance ADAPTER`` (or the ``navet_conformance`` pytest fixture in a
vendor's own suite) finds the installed adapter, reads what its plugin ships
for the kit (``conformance.json`` beside ``manifest.json``: settings, good
frames, a simulator, golden vectors, heartbeat, zones, a command target) and
runs every check in :data:`CHECK_IDS`::

    manifest           manifest valid, contract range includes the running contract
    vectors            the golden vectors replay exactly
    events-valid       every emitted event is valid against contracts/events/*.json
    deterministic-ids  the same frame twice, or to a new instance, gives the same events
    total-decoding     fuzzed, truncated, oversized input: events or PayloadError, in time
    commands           commands report failures (vendor away) and round-trip (simulator)
    heartbeat          heartbeat gives liveness, silence gives device.offline
    zones              zone and user exactly as sent, where the protocol has them
    throughput         decode rate beside the declared baseline, failing only far below

The report (:mod:`.report`) names the contract, the plugin version and digest,
and each check's outcome with a message a vendor can act on.
"""

from .declaration import AdapterConformance, Declaration, load_declaration, parse_declaration
from .report import Check, Report, compare_reports, to_markdown, write_report
from .runner import CHECK_IDS, all_adapters, run_adapter, run_checks, run_class

__all__ = [
    "CHECK_IDS",
    "AdapterConformance",
    "Check",
    "Declaration",
    "Report",
    "all_adapters",
    "compare_reports",
    "load_declaration",
    "parse_declaration",
    "run_adapter",
    "run_checks",
    "run_class",
    "to_markdown",
    "write_report",
]
