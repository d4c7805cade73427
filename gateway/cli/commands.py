"""What each ``navet`` subcommand does. Parsing lives in :mod:`gateway.cli`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

from gateway import CONTRACT_VERSION, PayloadError, RawFrame, SystemClock, __version__
from gateway.core.logs import setup_logging
from gateway.core.store import redact
from gateway.errors import ConfigError, NavetError, describe_invalid

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# navet version
# ---------------------------------------------------------------------------


def version(args: argparse.Namespace) -> int:
    print(f"navet {__version__} (contract {CONTRACT_VERSION})")
    return 0


# ---------------------------------------------------------------------------
# navet decode
# ---------------------------------------------------------------------------


def decode(args: argparse.Namespace) -> int:
    """Decode one frame with a registered adapter, as the pipeline would, without a gateway."""
    from gateway.core.plugins import build_plugin_manager

    try:
        settings = json.loads(args.settings)
    except ValueError as err:
        raise ConfigError(f"--settings is not JSON: {err}") from err
    if not isinstance(settings, dict):
        raise ConfigError("--settings must be a JSON object")
    if args.file == "-":
        payload = sys.stdin.buffer.read()
    else:
        try:
            payload = Path(args.file).read_bytes()
        except OSError as err:
            raise ConfigError(f"cannot read frame file {args.file}: {err}") from err

    plugins = build_plugin_manager()
    cls = plugins.adapters.get(args.adapter)
    try:
        adapter = cls(settings)  # type: ignore[call-arg]
    except Exception as err:
        raise ConfigError(f"adapter {args.adapter}: bad settings: {describe_invalid(err)}") \
            from err
    frame = RawFrame(adapter=args.adapter, tenant=args.tenant, transport=args.transport,
                     address=args.address, payload=payload, received=SystemClock().now())
    try:
        events = adapter.decode(frame)
    except PayloadError as err:
        print(f"navet: {args.adapter} refused the frame: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # an adapter bug: say so, as the pipeline would dead-letter it
        print(f"navet: {args.adapter} crashed on the frame: {type(err).__name__}: {err}",
              file=sys.stderr)
        return 2
    out = [ev.model_dump(mode="json", exclude_none=True) for ev in events]
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


# ---------------------------------------------------------------------------
# navet plugins list
# ---------------------------------------------------------------------------


def plugins_list(args: argparse.Namespace) -> int:
    from gateway.core.plugin_trust import TrustPolicy
    from gateway.core.plugins import build_plugin_manager
    from gateway.core.settings import load_settings

    if getattr(args, "config", None):
        settings = load_settings(args.config)
        trust = TrustPolicy.from_settings(settings)
        plugins = build_plugin_manager(settings.disabled_plugins, trust=trust)
    else:  # no deployment named: the development key and the built-in statements
        trust = TrustPolicy.development()
        plugins = build_plugin_manager(trust=trust)
    infos = [i.as_dict() for i in plugins.check_signatures(trust)]
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    print(f"contract {CONTRACT_VERSION}")
    for info in infos:
        status = info["status"] + (f" ({info['reason']})" if info["reason"] else "")
        print(f"\n{info['name']} {info['version']}  contract {info['contract']}  {status}")
        print(f"  module {info['module']}")
        if info["signature"]:
            print(f"  signature {info['signature']['status']}: {info['signature']['message']}")
        for a in info["adapters"]:
            kinds = ", ".join(a["device_kinds"]) or "-"
            cmds = ", ".join(a["commands"]) or "-"
            print(f"  adapter {a['name']}  contract {a['contract']}  kinds: {kinds}  "
                  f"commands: {cmds}")
        for s in info["sinks"]:
            print(f"  sink {s}")
    return 0


# ---------------------------------------------------------------------------
# navet serve
# ---------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    from gateway.core.settings import load_settings

    settings = load_settings(args.config)
    setup_logging(settings.log_level, settings.log_format)
    return asyncio.run(_serve(settings))


def _one_line(err: BaseException) -> str:
    """The error's message on one line, so the log's last line says what to fix."""
    return " ".join(str(err).split())


async def _serve(settings: Any) -> int:
    from .runtime import Runtime

    runtime = Runtime(settings)  # the data directory is made (0700) once the config is valid
    runtime.install_signal_handlers()
    try:
        await runtime.start()
    except NavetError as err:
        log.error("navet could not start: %s", _one_line(err))
        return 1
    log.info("navet serving", extra={"http": runtime.url, "database": redact(
        settings.database_target), "mqtt_mode": settings.mqtt.mode})
    try:
        await runtime.wait()
    finally:
        log.info("navet stopping (%s)", runtime.stop_reason or "exit")
        await runtime.stop()
    return 0


# ---------------------------------------------------------------------------
# navet demo
# ---------------------------------------------------------------------------


def demo(args: argparse.Namespace) -> int:
    from gateway.demo import DemoOptions, format_summary, run_demo

    setup_logging(args.log_level, "auto")
    opts = DemoOptions(
        host=args.host, port=args.port, mqtt_port=args.mqtt_port, duration=args.duration,
        data_dir=Path(args.data_dir) if args.data_dir else None, speed=args.speed,
        seed=args.seed,
    )

    def progress(line: str) -> None:
        print(line, file=sys.stderr if args.json else sys.stdout, flush=True)

    summary = asyncio.run(run_demo(opts, progress=progress))
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary))
    return 0
