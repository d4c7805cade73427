"""``navet check --config FILE``: what ``navet serve`` judges before it writes anything.

Run it after editing the settings or the care configuration, before a restart, or as the
service's ``ExecStartPre`` (deploy/systemd/navet.service). It starts nothing: no broker,
no listener, and it creates and migrates no database. It checks

- the settings file with the ``NAVET_*`` variables over it, and what production refuses
  (an open API, an anonymous MQTT connection, the in-memory broker);
- the care configuration files: they parse and validate;
- each adapter instance and subscription names an adapter or sink that is installed and
  loaded (not blocked, refused by its contract range or unsigned);
- each adapter instance's own settings (ports, TLS files, accounts);
- the modes of the data directory and its key files, when they exist (production refuses
  what group or others may read);
- the database's schema version, when the database exists and answers (read only): a
  schema newer than this Navet's migrations (a newer Navet ran on it) is refused, as
  ``navet serve`` would refuse it.

What only a start can tell (the database and the broker answer, a port is free, a sink's
settings) is left to ``navet serve``. Exit 0 and one line saying what was checked, or exit
1 and ``navet: error: ...`` naming the file, instance or field.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from gateway.errors import ConfigError, describe_invalid

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = sub.add_parser(
        "check", help="check a settings file and its care configuration without starting")
    check.add_argument("--config", default=None, metavar="FILE",
                       help="settings file (YAML or JSON); NAVET_* variables override it")
    check.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gateway.core.gateway import Gateway
    from gateway.core.logs import setup_logging
    from gateway.core.settings import load_settings
    from gateway.core.store.peek import check_database

    settings = load_settings(args.config)
    setup_logging(settings.log_level, "text")  # warnings (file modes) go to stderr
    gateway = Gateway(settings)  # builds the plugin manager; opens and writes nothing
    care = gateway.check_config()
    for inst in settings.adapters:
        _check_adapter(gateway, inst)
    if settings.data_dir.is_dir():  # a new installation's directory is made private at start
        gateway.check_file_modes()
    check_database(settings.database_target)  # a schema newer than this Navet's: refused
    tenants = {t.id for _, config in care for t in config.tenants}
    devices = sum(len(t.devices) for _, config in care for t in config.tenants)
    source = args.config or "NAVET_* variables"
    print(f"{source}: valid for {settings.environment}: "
          f"{len(settings.adapters)} adapter instance(s), "
          f"{len(settings.subscriptions)} subscription(s), "
          f"{len(care)} care configuration file(s) with {len(tenants)} tenant(s) and "
          f"{devices} device(s); database {_backend(settings)}, mqtt {settings.mqtt.mode}")
    return 0


def _check_adapter(gateway: Any, inst: Any) -> None:
    """The instance's settings, judged by its adapter exactly as at start."""
    cls = gateway.plugins.adapters.get(inst.adapter)
    try:
        cls(inst.settings)
    except Exception as err:
        raise ConfigError(f"adapter instance {inst.instance_id}: bad settings: "
                          f"{describe_invalid(err)}") from err


def _backend(settings: Any) -> str:
    return "postgresql" if settings.database_is_url else f"sqlite {settings.database_path}"
