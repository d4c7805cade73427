"""``navet plugin new NAME`` (also ``navet plugins new``): scaffold an adapter package."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(p: Any) -> None:
    p.add_argument("name", help="plugin and adapter name, e.g. acme-alarm")
    p.add_argument("--dir", default=None, metavar="DIR",
                   help="where to write the package (default: ./navet-NAME)")
    p.set_defaults(func=run)


def add_parser(sub: Any, plugins_sub: Any) -> None:
    plugin = sub.add_parser("plugin", help="make a new plugin package")
    psub = plugin.add_subparsers(dest="plugin_command", metavar="SUBCOMMAND")
    psub.required = True
    add_arguments(psub.add_parser("new", help="scaffold an adapter package that passes the kit"))
    add_arguments(plugins_sub.add_parser("new", help="the same as navet plugin new"))


def run(args: argparse.Namespace) -> int:
    from gateway.conformance.scaffold import names, scaffold

    package = names(args.name)
    directory = Path(args.dir or f"navet-{args.name}")
    written = scaffold(args.name, directory)
    print(f"wrote {len(written)} files to {directory}/ (package {package['package']})")
    print("next:")
    print(f"  pip install -e {directory}")
    print(f"  navet conformance {args.name}")
    print(f"  python -m pytest {directory}/tests")
    return 0
