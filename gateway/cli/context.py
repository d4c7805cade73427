"""What the commands open from a settings file: the data keys, the store, the audit log.

Commands run beside a running gateway (``exclusive=False``) and with the same keys:
a store opened here can read and write sealed subscription settings, and an audit
log opened here keys its work with the gateway's audit key.
"""

from __future__ import annotations

from gateway.core.audit import AuditKeys, AuditLog, CheckpointFile
from gateway.core.clock import SystemClock
from gateway.core.security.pii import DataKeys, PiiCipher
from gateway.core.settings import Settings
from gateway.core.store import Store, make_store


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
