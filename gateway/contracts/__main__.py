"""``python -m gateway.contracts write|check|vector``: see :mod:`gateway.contracts`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.core.model import CONTRACT_VERSION

from . import __doc__ as package_doc
from .documents import dump_json
from .tree import DEFAULT_DIR, check, write
from .vectors import record_vector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.contracts", description=package_doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("write", "check"):
        p = sub.add_parser(name)
        p.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    vec = sub.add_parser("vector", help="print a golden vector for a frame read from stdin")
    vec.add_argument("adapter")
    vec.add_argument("--address", required=True)
    vec.add_argument("--tenant", default="vasteras")
    vec.add_argument("--received", default="2026-01-01T07:30:00+00:00")
    args = parser.parse_args(argv)

    if args.command == "write":
        for rel in write(args.dir):
            print(f"wrote {args.dir / rel}")
        return 0
    if args.command == "check":
        problems = check(args.dir)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} difference(s) between {args.dir} and the code"
              if problems else f"{args.dir} matches contract {CONTRACT_VERSION}")
        return 1 if problems else 0
    frame = {"address": args.address, "payload": sys.stdin.read(), "tenant": args.tenant,
             "received": args.received}
    print(dump_json(record_vector(args.adapter, frame)), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
