"""``navet conformance``: run the conformance kit on installed adapters.

::

    navet conformance ADAPTER [--json] [--report DIR]
    navet conformance --all [--report DIR]
    navet conformance --all --check DIR     regenerate and compare with committed reports
    navet conformance ADAPTER --config FILE a deployment's adapters, out-of-process ones too

Exit status 0 only when no check failed (and, with ``--check``, the committed
reports are what the kit says now, apart from ``generated_at`` and
``measurements``); 4 when a check failed or a report differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FAILED = 4


def add_parser(sub: Any) -> None:
    p = sub.add_parser("conformance", help="check an adapter against the contract (the kit)")
    p.add_argument("adapter", nargs="?", default=None, help="adapter name, e.g. zigbee2mqtt")
    p.add_argument("--all", action="store_true", help="every installed adapter")
    p.add_argument("--json", action="store_true",
                   help="print the report as one JSON object (a list with --all)")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write DIR/<adapter>.json and DIR/<adapter>.md")
    p.add_argument("--check", metavar="DIR", default=None,
                   help="compare with the reports committed in DIR (fails when they differ)")
    p.add_argument("--config", metavar="FILE", default=None,
                   help="settings file: its block list and its out-of-process adapters "
                   "(remote_adapters) beside the installed ones")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gateway.conformance import all_adapters, compare_reports, run_adapter, write_report
    from gateway.core.plugins import build_plugin_manager

    if bool(args.adapter) == bool(args.all):
        print("navet: error: name one adapter, or --all", file=sys.stderr)
        return 2
    if args.config:
        from gateway.core.remote import remote_plugins
        from gateway.core.settings import load_settings

        settings = load_settings(args.config)
        plugins = build_plugin_manager(settings.disabled_plugins,
                                       extra=remote_plugins(settings.remote_adapters))
    else:
        plugins = build_plugin_manager()
    names = all_adapters(plugins) if args.all else [args.adapter]
    reports = [run_adapter(name, plugins) for name in names]
    if args.report:
        for report in reports:
            write_report(report, Path(args.report))
    if args.json:
        data = [r.as_dict() for r in reports]
        print(json.dumps(data if args.all else data[0], indent=2, ensure_ascii=False))
    else:
        for report in reports:
            print(report.summary())
    code = 0 if all(r.passed for r in reports) else FAILED
    if args.check:
        problems = compare_reports(reports, Path(args.check))
        for problem in problems:
            print(f"navet: conformance: {problem}", file=sys.stderr)
        if problems:
            print(f"navet: the reports in {args.check} are out of date: run navet conformance "
                  f"--all --report {args.check} and review the difference", file=sys.stderr)
            code = FAILED
    return code
