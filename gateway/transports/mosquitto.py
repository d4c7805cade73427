"""Runs a Mosquitto broker as a child process with a configuration Navet writes.

Both the embedded broker (:mod:`gateway.transports.broker`) and the test
fixtures use :class:`MosquittoProcess`, so the configuration tests exercise is
the configuration users get.

Queue limits matter more than anything else here. Mosquitto's default
``max_queued_messages 1000`` silently dropped a third of 100,000 QoS 1
messages sent faster than one subscriber read them (see DESIGN.md). An alarm
must never vanish because the gateway was slow for a moment, so the queue is
unlimited by default and memory is the limit; operators watch
``$SYS/broker/store/messages/count`` instead of losing messages.

TLS: pass a :class:`TlsListener` to add a second listener that requires client
certificates (per-device X.509 certificates from Navet's CA). Only the
configuration is written here; issuing the certificates lives elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gateway.errors import TransportError

log = logging.getLogger(__name__)

INSTALL_HINT = "install Mosquitto (apt-get install mosquitto)"


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener; with ``require_certificate`` devices must present a client cert."""

    port: int
    cafile: Path
    certfile: Path
    keyfile: Path
    require_certificate: bool = True
    use_identity_as_username: bool = True
    host: str = "127.0.0.1"
    crlfile: Path | None = None  # revoked device certificates (gateway.core.security.ca)
    acl_file: Path | None = None
    """Topic ACL for this listener only (Navet CA's ``mosquitto.acl``): the broker then runs
    with ``per_listener_settings``, so the plain loopback listener the gateway itself uses
    keeps its own rules while every certificate identity is held to its topics."""

    def config_lines(self) -> list[str]:
        lines = [
            f"listener {self.port} {self.host}",
            f"cafile {self.cafile}",
            f"certfile {self.certfile}",
            f"keyfile {self.keyfile}",
            f"require_certificate {_bool(self.require_certificate)}",
            f"use_identity_as_username {_bool(self.use_identity_as_username)}",
        ]
        if self.crlfile is not None:
            lines.append(f"crlfile {self.crlfile}")
        if self.acl_file is not None:
            lines += ["allow_anonymous false", f"acl_file {self.acl_file}"]
        return lines


@dataclass(slots=True)
class BrokerLimits:
    """Per-client queue limits. 0 means unlimited (Mosquitto's own convention)."""

    max_queued_messages: int = 0
    max_queued_bytes: int = 0
    # More messages in flight than Mosquitto's default of 20 keeps a gateway that acks
    # after storing busy; ordering is still per client because the gateway handles in order.
    max_inflight_messages: int = 100
    # An abandoned persistent session (a gateway id never used again) is dropped after this.
    persistent_client_expiration: str = "30d"


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (Mosquitto cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class MosquittoProcess:
    """One Mosquitto child process: writes its config, starts, waits ready, restarts, stops.

    ``port=0`` picks a free port. The data directory (persistence, log, config)
    is kept across :meth:`restart` so persistent sessions and queued messages
    survive it, as they would survive a broker restart in production.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        data_dir: Path | None = None,
        binary: str | None = None,
        allow_anonymous: bool = True,
        password_file: Path | None = None,
        acl_file: Path | None = None,
        limits: BrokerLimits | None = None,
        tls: TlsListener | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port or pick_free_port(host)
        self.binary = binary or shutil.which("mosquitto") or ""
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="navet-mosquitto-"))
        self.allow_anonymous = allow_anonymous
        self.password_file = password_file
        self.acl_file = acl_file
        self.limits = limits or BrokerLimits()
        self.tls = tls
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.data_dir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "mosquitto.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def config_text(self) -> str:
        lim = self.limits
        per_listener = self.tls is not None and self.tls.acl_file is not None
        lines = [
            "# Written by Navet (gateway.transports.mosquitto); regenerated at every start.",
            *(["per_listener_settings true"] if per_listener else []),
            f"listener {self.port} {self.host}",
            f"allow_anonymous {_bool(self.allow_anonymous)}",
            # Started as root Mosquitto would switch to user 'mosquitto' and lose access to
            # our data dir; naming the current user keeps it (ignored when not root).
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {self.data_dir}/",
            "autosave_interval 30",
            f"persistent_client_expiration {lim.persistent_client_expiration}",
            f"max_queued_messages {lim.max_queued_messages}",
            f"max_queued_bytes {lim.max_queued_bytes}",
            f"max_inflight_messages {lim.max_inflight_messages}",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
        ]
        if self.password_file is not None:
            lines.append(f"password_file {self.password_file}")
        if self.acl_file is not None:  # who may publish where (navet devices enroll)
            lines.append(f"acl_file {self.acl_file}")
        if self.tls is not None:
            lines += self.tls.config_lines()
        return "\n".join(lines) + "\n"

    async def start(self) -> None:
        """Start Mosquitto and return once it accepts connections (TransportError if not)."""
        if self.running:
            return
        if not self.binary:
            raise TransportError(f"Mosquitto not found on PATH: {INSTALL_HINT}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text(), encoding="utf-8")
        self._proc = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr \
                    else ""
                self._proc = None
                raise TransportError(
                    f"Mosquitto on {self.host}:{self.port} exited at start: "
                    f"{err.strip() or self._log_tail()}"
                )
            if await asyncio.to_thread(port_open, self.host, self.port):
                log.info("Mosquitto listening on %s:%d (data %s)", self.host, self.port,
                         self.data_dir)
                return
            await asyncio.sleep(0.05)
        await self.stop()
        raise TransportError(
            f"Mosquitto on {self.host}:{self.port} did not accept connections within "
            f"{self.start_timeout:g}s: {self._log_tail()}"
        )

    async def stop(self) -> None:
        """SIGTERM (Mosquitto saves its persistence file), then SIGKILL after the timeout."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                await asyncio.to_thread(proc.wait, self.stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("Mosquitto on port %d ignored SIGTERM; killing it", self.port)
                proc.kill()
                await asyncio.to_thread(proc.wait, self.stop_timeout)
        if proc.stderr is not None:
            proc.stderr.close()

    async def restart(self) -> None:
        """Stop and start on the same port and data dir (sessions survive)."""
        await self.stop()
        await self.start()

    def cleanup(self) -> None:
        """Remove the data directory if this runner created it (call after stop)."""
        if self._own_dir and not self.running:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def _log_tail(self, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"


def _bool(value: bool) -> str:
    return "true" if value else "false"
