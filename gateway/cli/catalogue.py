"""``navet catalogue``: adapters this deployment has and can install (docs/municipalities.md)."""

from __future__ import annotations

import argparse
import json

from gateway.core.catalogue import CatalogueEntry, build_catalogue, sources
from gateway.core.plugin_trust import TrustPolicy


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cat = sub.add_parser("catalogue", help="adapters installed and installable, with their "
                         "signature and conformance status")
    cat.add_argument("--json", action="store_true", help="machine-readable output")
    cat.add_argument("--config", default=None, metavar="FILE",
                     help="settings file: block list, plugin trust, reports, index files")
    cat.set_defaults(func=catalogue)


def entries(config: str | None) -> list[CatalogueEntry]:
    from gateway.core.plugins import build_plugin_manager
    from gateway.core.remote import remote_plugins
    from gateway.core.settings import load_settings

    if config is None:  # no deployment named: the development key, the built-in files
        trust = TrustPolicy.development()
        reports, indexes = sources()
        return build_catalogue(build_plugin_manager(trust=trust), trust, reports=reports,
                               indexes=indexes)
    settings = load_settings(config)
    trust = TrustPolicy.from_settings(settings)
    reports, indexes = sources(settings.plugins)
    plugins = build_plugin_manager(settings.disabled_plugins, trust=trust,
                                   extra=remote_plugins(settings.remote_adapters))
    return build_catalogue(plugins, trust, reports=reports, indexes=indexes)


def catalogue(args: argparse.Namespace) -> int:
    found = entries(args.config)
    if args.json:
        print(json.dumps([e.model_dump(mode="json") for e in found], indent=2,
                         ensure_ascii=False))
        return 0
    for e in found:
        where = "installed" if e.installed else f"available: {e.install}"
        status = e.status + (f" ({e.reason})" if e.reason else "") if e.installed else where
        print(f"{e.adapter} {e.version or '?'}  {e.vendor or '?'}  plugin {e.plugin}  {status}")
        print(f"  kinds: {', '.join(e.device_kinds) or '-'}  protocol: "
              f"{', '.join(e.protocol) or '-'}  contract {e.contract or '?'}")
        print(f"  signature: {e.signature.status}")
        c = e.conformance
        if c is None:
            print("  conformance: no report")
        else:
            stale = "" if c.current is not False else " (for other files than installed now)"
            print(f"  conformance: {c.outcome} on {c.date}, contract {c.contract}{stale}; "
                  f"report {c.report} (report signature: {c.signature.status})")
    return 0
