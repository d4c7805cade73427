"""What the commands open from a settings file: the data keys, the store, the audit log.

Commands run beside a running gateway (``exclusive=False``) and with the same keys:
a store opened here can read and write sealed subscription settings, and an audit
log opened here keys its work with the gateway's audit key.
"""

from __future__ import annotations

import os

from gateway.core.audit import AuditKeys, AuditLog, CheckpointFile
from gateway.core.clock import SystemClock
from gateway.core.security.pii import DataKeys, PiiCipher
from gateway.core.settings import Settings, load_settings
from gateway.core.store import Store, make_store
from gateway.errors import ConfigError


def data_cipher(settings: Settings) -> PiiCipher:
    """The data keys (privacy.data_key_file), created on first use."""
    return PiiCipher(DataKeys.load_or_create(settings.data_key_path))


def open_store(settings: Settings, *, exclusive: bool = False) -> Store:
    """The settings' existing database, opened with the data keys."""
    store = make_store(settings.existing_database(), cipher=data_cipher(settings))
    store.open(exclusive=exclusive)
    return store


def audit_keys(settings: Settings, *, create: bool) -> AuditKeys | None:
    """The audit key file; None when it does not exist and ``create`` is false (a
    verification must not make a key that would then seem to have keyed the log)."""
    path = settings.audit_key_path
    if not create and not path.exists():
        return None
    return AuditKeys.at(path)


def audit_log(settings: Settings, store: Store) -> AuditLog:
    """The audit log of ``store`` with the settings' audit key and checkpoint file."""
    return AuditLog(store, SystemClock(), keys=audit_keys(settings, create=True),
                    checkpoints=CheckpointFile(settings.audit_checkpoint_path))


def keyed_settings(config: str | None, what: str) -> Settings:
    """The settings of the gateway whose keys a command uses (token signing, device CA).

    Without ``--config`` (or ``NAVET_DATA_DIR``) the default data directory would be
    ``./navet-data`` under whatever directory the command runs in: keys made there would
    sign tokens or certificates no gateway trusts. Say so instead of doing it.

    :raises ConfigError: neither ``--config`` nor ``NAVET_DATA_DIR`` is given.
    """
    if config is None and not os.environ.get("NAVET_DATA_DIR"):
        raise ConfigError(
            f"{what} needs the gateway's settings: pass --config FILE (the file navet serve "
            f"uses; its data_dir holds the keys) or set NAVET_DATA_DIR")
    return load_settings(config)
