"""The ``navet`` command line.

::

    navet demo      run the demo municipality with simulated devices and the live view
    navet serve     run the gateway from a config file (and NAVET_* variables)
    navet check     check a config file and its care configuration without starting
    navet decode    push one raw frame through an adapter and print the events
    navet plugins   list plugins, their adapters, sinks and status
    navet plugin new  scaffold an adapter package that passes the conformance kit
    navet version   print the version and contract version
    navet audit     verify the audit log's keyed chain and checkpoints; export it
    navet privacy   a resident's data, retention, data keys
    navet store     what the database holds; copy it (SQLite to PostgreSQL); prune it
    navet users     people who sign in to the console (add, list, disable)
    navet keys      make an Ed25519 signing key pair
    navet sign      sign files (conformance reports) or installed plugins
    navet verify    check signatures of files or installed plugins
    navet catalogue the adapters installed and installable, signed and tested
    navet conformance  check an adapter against the contract (the conformance kit)

Options may come before or after the positional arguments (``navet decode
zigbee2mqtt FRAME --address X``). Durations take units (``--duration 2m``).

Exit codes: 0 success, 1 bad configuration, 2 bad usage or a frame the adapter
refused (``navet decode``), 3 the audit log is broken (``navet audit
verify`` or ``checkpoint``) or a signature does not hold (``navet verify``),
4 a conformance check failed or a committed report is out of date (``navet
conformance``), 141 the reader of stdout went away (``| head``).
Results go to stdout, logs to stderr. A mistake of the user's is one line
``navet: error: ...``, never a Python traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from gateway.core.settings import LOG_LEVELS
from gateway.errors import NavetError


class NavetParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that takes options after the positionals too.

    Plain argparse reads ``decode zigbee2mqtt --address X FRAME`` as the two positionals
    ``zigbee2mqtt`` and an empty ``FRAME``, then refuses ``FRAME`` as unrecognised. A parser
    without subcommands parses intermixed (options and positionals in any order); the
    subcommand parsers are made with this class too, so every command gets it.
    """

    _intermixing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._intermixing or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls back into this method
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def duration(text: str) -> float:
    """``--duration 20``, ``90s``, ``2m``, ``1h``: positive seconds."""
    from gateway.core.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration must be more than 0")
    return seconds


def positive(text: str) -> float:
    """A number above zero (``--speed``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number above 0")
    return value


def port(text: str) -> int:
    """A TCP port, 0 for any free one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0 to 65535")
    return value


def log_level(text: str) -> str:
    """A logging level by name, in any case (``info``, ``DEBUG``)."""
    level = text.strip().upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a log level; choose one of {', '.join(LOG_LEVELS)}")
    return level


def build_parser() -> argparse.ArgumentParser:
    from gateway import CONTRACT_VERSION, __version__

    from . import (
        audit,
        catalogue,
        check,
        commands,
        conformance,
        devices,
        plugin_new,
        privacy,
        signing,
        store,
        tokens,
        users,
    )

    parser = NavetParser(
        prog="navet", description="Navet: vendor-neutral welfare technology gateway."
    )
    parser.add_argument("--version", action="version",
                        version=f"navet {__version__} (contract {CONTRACT_VERSION})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run the demo municipality with simulated devices")
    demo.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    demo.add_argument("--port", type=port, default=8080, help="HTTP port (default 8080)")
    demo.add_argument("--mqtt-port", type=port, default=0,
                      help="embedded MQTT broker port (default: a free one)")
    demo.add_argument("--duration", type=duration, default=None, metavar="TIME",
                      help="stop after this long (20, 90s, 5m) and print a summary")
    demo.add_argument("--json", action="store_true", help="print the summary as JSON")
    demo.add_argument("--data-dir", default=None, metavar="DIR",
                      help="where the demo keeps its database (default: a new temp dir)")
    demo.add_argument("--speed", type=positive, default=60.0, metavar="N",
                      help="simulated time runs N times faster than real time (default 60)")
    demo.add_argument("--seed", type=int, default=1, help="seed of the simulated residents")
    demo.add_argument("--log-level", type=log_level, default="INFO", metavar="LEVEL",
                      help=f"one of {', '.join(LOG_LEVELS)} (default INFO)")
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
    plist.add_argument("--config", default=None, metavar="FILE",
                       help="settings file: its block list and plugin trust (signatures)")
    plist.set_defaults(func=commands.plugins_list)
    plugin_new.add_parser(sub, psub)

    audit.add_parser(sub)
    tokens.add_parser(sub)
    users.add_parser(sub)
    devices.add_parser(sub)
    privacy.add_parser(sub)
    store.add_parser(sub)
    signing.add_parser(sub)
    catalogue.add_parser(sub)
    conformance.add_parser(sub)
    check.add_parser(sub)

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=commands.version)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except NavetError as err:
        print(f"navet: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except OSError as err:  # a path or address the user gave: what and why, not a traceback
        where = f" {err.filename}" if err.filename else ""
        print(f"navet: error:{where}: {err.strerror or err}", file=sys.stderr)
        return 1


def _reader_went_away() -> int:
    """stdout's reader closed it (``navet plugins list | head``): stop quietly.

    Python would otherwise print a traceback now and another one when it flushes stdout
    at exit; pointing stdout at /dev/null makes that last flush harmless.
    """
    logging.raiseExceptions = False
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file (a test's capture): nothing to flush
        pass
    return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
