"""The ``navet`` command line.

::

    navet demo      run the demo municipality with simulated devices and the live view
    navet serve     run the gateway from a config file (and NAVET_* variables)
    navet decode    push one raw frame through an adapter and print the events
    navet plugins   list plugins, their adapters, sinks and status
    navet version   print the version and contract version
    navet audit     verify the audit log's keyed chain and checkpoints; export it
    navet privacy   a resident's data, retention, data keys
    navet store     what the database holds; copy it (SQLite to PostgreSQL)
    navet users     people who sign in to the console (add, list, disable)

Exit codes: 0 success, 1 bad usage or configuration, 2 a frame the adapter
refused (``navet decode``), 3 the audit log is broken (``navet audit
verify`` or ``checkpoint``). Results go to stdout, logs to stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.errors import NavetError


def build_parser() -> argparse.ArgumentParser:
    from . import audit, commands, devices, privacy, store, tokens, users

    parser = argparse.ArgumentParser(
        prog="navet", description="Navet: vendor-neutral welfare technology gateway."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run the demo municipality with simulated devices")
    demo.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    demo.add_argument("--mqtt-port", type=int, default=0,
                      help="embedded MQTT broker port (default: a free one)")
    demo.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                      help="stop after this many seconds and print a summary")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument("--data-dir", default=None, metavar="DIR",
                      help="where the demo keeps its database (default: a new temp dir)")
    demo.add_argument("--speed", type=float, default=60.0, metavar="N",
                      help="simulated time runs N times faster than real time (default 60)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the simulated residents")
    demo.add_argument("--log-level", default="INFO")
    demo.set_defaults(func=commands.demo)

    serve = sub.add_parser("serve", help="run the gateway from a config file")
    serve.add_argument("--config", required=False, default=None, metavar="FILE",
                       help="settings file (YAML or JSON); NAVET_* variables override it")
    serve.set_defaults(func=commands.serve)

    decode = sub.add_parser("decode", help="decode one raw frame with an adapter")
    decode.add_argument("adapter", help="adapter name, e.g. zigbee2mqtt")
    decode.add_argument("file", nargs="?", default="-", help="frame file (default: stdin)")
    decode.add_argument("--address", default="",
                        help="where the frame came from (for zigbee2mqtt: the MQTT topic)")
    decode.add_argument("--tenant", default="demo", help="tenant to decode for")
    decode.add_argument("--transport", default="cli", help="transport name to record")
    decode.add_argument("--settings", default="{}", metavar="JSON",
                        help="adapter instance settings as JSON")
    decode.set_defaults(func=commands.decode)

    plugins = sub.add_parser("plugins", help="inspect plugins")
    psub = plugins.add_subparsers(dest="plugins_command", metavar="SUBCOMMAND")
    psub.required = True
    plist = psub.add_parser("list", help="list plugins, adapters and sinks")
    plist.add_argument("--json", action="store_true", help="machine-readable output")
    plist.set_defaults(func=commands.plugins_list)

    audit.add_parser(sub)
    tokens.add_parser(sub)
    users.add_parser(sub)
    devices.add_parser(sub)
    privacy.add_parser(sub)
    store.add_parser(sub)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=commands.version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NavetError as err:
        print(f"navet: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
