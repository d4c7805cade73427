"""The audit log's anchors outside the database: its HMAC key and signed checkpoints.

A hash chain shows that entries fit together; whoever can write the database can
still rewrite the whole chain so that it fits, or cut its end. Two things the
database does not hold stop that:

- **The audit key** (``audit.key_file``, default ``<data_dir>/keys/audit-keys.json``,
  0600; the key file format of :class:`~gateway.core.security.pii.DataKeys`). Each
  entry's ``hash`` is an HMAC-SHA256 under it, over the entry with its ``prev`` and
  the key id ``kid``, so an entry cannot be written or rewritten without the key.
  ``navet audit rotate-key`` adds a key; older keys stay in the file to verify what
  they keyed.
- **Checkpoints** of the head (sequence number, hash, time, key id, HMAC), appended
  as JSON lines to ``audit.checkpoint_file`` (default
  ``<data_dir>/audit/checkpoints.jsonl``, 0600, opened append-only) and logged. The
  gateway writes one at start, every ``audit.checkpoint_interval_s`` when the log
  grew, and at stop, each only after verifying what was appended since the one
  before. ``navet audit verify --config`` checks the chain against every checkpoint,
  so a cut end or a rewritten chain no longer matches.

Retention prunes the log from a point that is itself signed: an **anchor** row in
``audit_anchor`` (and a ``prune`` line in the checkpoint file); verification starts
there. Each signature says what it signs (entry, checkpoint, anchor), so one cannot
be passed off as another.

Put the checkpoint file (or the log lines) where a database administrator cannot
write, e.g. on another host: it is what catches a cut end.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

from .security.files import open_append_private
from .security.pii import DataKeys

ENTRY = "navet-audit-entry/1"
CHECKPOINT = "navet-audit-checkpoint/1"
ANCHOR = "navet-audit-anchor/1"


def canonical(fields: Mapping[str, Any]) -> bytes:
    """Sorted compact JSON: the byte form every hash and HMAC of the audit log is over."""
    return json.dumps(dict(fields), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


class AuditKeys:
    """The audit HMAC keys (a :class:`DataKeys` file), by key id."""

    def __init__(self, keys: DataKeys) -> None:
        self.file = keys
        self._cache: dict[str, bytes] = {}  # a key id never changes its key

    @classmethod
    def at(cls, path: Path) -> AuditKeys:
        return cls(DataKeys(path))

    @property
    def path(self) -> Path:
        return self.file.path

    @property
    def current(self) -> str:
        return self.file.current

    def knows(self, kid: str) -> bool:
        return self._key(kid) is not None

    def _key(self, kid: str) -> bytes | None:
        key = self._cache.get(kid)
        if key is None:
            key = self.file.key(kid)
            if key is not None:
                self._cache[kid] = key
        return key

    def mac(self, domain: str, fields: Mapping[str, Any], kid: str) -> str | None:
        """HMAC-SHA256 (hex) of ``fields`` for ``domain`` under key ``kid``; None if the key
        file does not hold that key."""
        key = self._key(kid)
        if key is None:
            return None
        return hmac.new(key, domain.encode("ascii") + b"\n" + canonical(fields),
                        hashlib.sha256).hexdigest()

    def signs(self, domain: str, fields: Mapping[str, Any], kid: str, mac: str) -> bool | None:
        """Whether ``mac`` is the HMAC of ``fields``; None when the key is unknown."""
        expected = self.mac(domain, fields, kid)
        return None if expected is None else hmac.compare_digest(expected, mac)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the chain's entry ``seq`` had ``hash`` at ``time``.

    ``kind`` is ``checkpoint`` (the head, from time to time) or ``prune`` (where
    retention cut the log; verification starts there)."""

    seq: int
    hash: str
    time: str
    kid: str
    mac: str
    kind: str = "checkpoint"

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "seq": self.seq, "hash": self.hash, "time": self.time,
                "kid": self.kid}

    @classmethod
    def sign(cls, keys: AuditKeys, *, seq: int, hash: str, time: str,
             kind: str = "checkpoint") -> Checkpoint:
        kid = keys.current
        fields = {"kind": kind, "seq": seq, "hash": hash, "time": time, "kid": kid}
        mac = keys.mac(CHECKPOINT if kind == "checkpoint" else ANCHOR, fields, kid)
        assert mac is not None  # the current key is in the file
        return cls(seq, hash, time, kid, mac, kind)

    def signed_by(self, keys: AuditKeys) -> bool | None:
        return keys.signs(CHECKPOINT if self.kind == "checkpoint" else ANCHOR,
                          self.fields(), self.kid, self.mac)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CheckpointFile:
    """The append-only file of checkpoints: one JSON object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, checkpoint: Checkpoint) -> None:
        """Append one line durably. An exclusive lock keeps lines whole when several
        processes (instances, a command) append to the same file."""
        line = json.dumps(checkpoint.as_dict(), sort_keys=True, separators=(",", ":")) + "\n"
        fd = open_append_private(self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> tuple[list[Checkpoint], list[str]]:
        """Every checkpoint in the file, and a problem for each line that is not one."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], []
        except OSError as err:
            raise ConfigError(f"cannot read audit checkpoints {self.path}: {err}") from err
        found: list[Checkpoint] = []
        problems: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            cp = _parse(line)
            if cp is not None:
                found.append(cp)
            elif line.strip():
                problems.append(f"{self.path} line {number} is not a checkpoint")
        return found, problems

    def last_signed(self, keys: AuditKeys, *, tail_bytes: int = 1 << 16) -> Checkpoint | None:
        """The newest checkpoint signed by ``keys``, from the file's end (a start reads only
        its last lines, however long the file has grown); the whole file when none is
        signed there."""
        try:
            with self.path.open("rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - tail_bytes))
                lines = fh.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return None
        for line in reversed(lines):
            cp = _parse(line)
            if cp is not None and cp.signed_by(keys):
                return cp
        if size <= tail_bytes:
            return None
        found, _ = self.read()
        return next((cp for cp in reversed(found) if cp.signed_by(keys)), None)


def _parse(line: str) -> Checkpoint | None:
    try:
        raw = json.loads(line)
        return Checkpoint(int(raw["seq"]), str(raw["hash"]), str(raw["time"]), str(raw["kid"]),
                          str(raw["mac"]), str(raw.get("kind", "checkpoint")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
