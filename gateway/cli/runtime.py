"""One running Navet process: the gateway and its HTTP app in one event loop.

``navet serve`` and ``navet demo`` both use :class:`Runtime`. It starts the
gateway (store, MQTT, adapters, rules, outbox), then uvicorn serving the
HTTP app, and stops them in the reverse order on Ctrl-C, SIGTERM or
:meth:`Runtime.request_stop`. Uvicorn's own signal handling is switched off:
it would re-raise the signal after shutdown and turn a clean exit into a
``KeyboardInterrupt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Iterator
from typing import Any

from gateway.core.gateway import Gateway
from gateway.core.settings import Settings
from gateway.errors import ConfigError

log = logging.getLogger(__name__)

HTTP_START_TIMEOUT = 20.0
HTTP_STOP_TIMEOUT = 10.0


def _load_app_factory() -> Any:
    """``gateway.api.app.create_app``. The API ships with Navet: failing to import it is a
    bug to report, never a reason to run silently without it."""
    from gateway.api.app import create_app

    return create_app


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (IPv6 when ``host`` is one), for uvicorn.

    :raises ConfigError: naming the address and the system's reason (port taken, no such
        address, not permitted).
    """
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        infos.sort(key=lambda info: info[0] != socket.AF_INET)  # "localhost": IPv4 first
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise ConfigError(f"HTTP cannot listen on {host}:{port}: {err.strerror or err}") \
            from err
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError as err:
        sock.close()
        raise ConfigError(f"HTTP cannot listen on {host}:{port}: {err.strerror or err} "
                          f"(http.host, http.port)") from err
    return sock


class _Server:
    """uvicorn.Server without its signal capture (we own the signals)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        self.socket = _listen(host, port)  # first: a taken port is said before anything starts

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on",
                                access_log=False)
        self.server = Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._serve(), name="http")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HTTP_START_TIMEOUT
        while not self.server.started:
            if self.task.done():
                exc = self.task.exception() if not self.task.cancelled() else None
                if isinstance(exc, ConfigError):
                    raise exc
                raise ConfigError("HTTP app failed to start (its lifespan failed; see the log)")
            if loop.time() > deadline:
                raise ConfigError(f"HTTP server did not start within {HTTP_START_TIMEOUT:g}s")
            await asyncio.sleep(0.05)

    async def _serve(self) -> None:
        try:
            await self.server.serve(sockets=[self.socket])
        except SystemExit as err:  # uvicorn exits this way when its startup fails
            raise ConfigError(f"HTTP server on {self.server.config.host}:"
                              f"{self.server.config.port} could not start (exit {err.code})") \
                from None

    async def stop(self) -> None:
        if self.task is None:
            self.socket.close()
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self.task, HTTP_STOP_TIMEOUT)
        except TimeoutError:
            self.server.force_exit = True
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task
        except ConfigError:
            pass  # already reported by start()
        finally:
            self.socket.close()


class Runtime:
    """Gateway + HTTP, started and stopped together.

    :param http: serve the HTTP app on ``settings.http`` (when it is available).
    """

    def __init__(self, settings: Settings, *, gateway: Gateway | None = None,
                 http: bool = True) -> None:
        self.settings = settings
        self.gateway = gateway or Gateway(settings)
        self.http = http
        self._server: _Server | None = None
        self._stop = asyncio.Event()
        self.stop_reason = ""

    @property
    def url(self) -> str | None:
        """Where the HTTP app listens (the bound port, also when configured as 0)."""
        if self._server is None:
            return None
        port = self.settings.http.port
        with contextlib.suppress(AttributeError, IndexError, OSError):
            port = self._server.server.servers[0].sockets[0].getsockname()[1]
        return f"http://{self.settings.http.host}:{port}"

    def request_stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop, sig.name)

    async def start(self) -> None:
        """Start the gateway, then the HTTP app (whose lifespan stops the gateway at the end).

        The gateway starts here, not in the app's lifespan, so a failure reaches the caller
        as the error itself (uvicorn would log a traceback and exit with a code instead).
        """
        create_app = _load_app_factory() if self.http else None
        server = None
        if create_app is not None:
            app = create_app(self.settings, gateway=self.gateway)
            server = _Server(app, self.settings.http.host, self.settings.http.port)
        try:
            await self.gateway.start()
        except BaseException:
            if server is not None:
                await server.stop()
            with contextlib.suppress(Exception):  # release what the failed start opened
                await self.gateway.stop()
            raise
        if server is None:
            return
        try:
            await server.start()
        except BaseException:
            await server.stop()
            if self.gateway.started:
                await self.gateway.stop()
            raise
        self._server = server
        if self.settings.http.port == 0:  # bound to a free port: say which, for everyone
            bound = self.url
            if bound:
                self.settings.http.port = int(bound.rsplit(":", 1)[1])

    async def wait(self, duration: float | None = None) -> None:
        """Return after ``duration`` seconds, or when a stop was requested."""
        try:
            await asyncio.wait_for(self._stop.wait(), duration)
        except TimeoutError:
            self.stop_reason = self.stop_reason or "duration reached"

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None
        if self.gateway.started:
            await self.gateway.stop()
