"""Runs an emulator's WSGI apps on a real threaded HTTP/1.1 server bound to 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from typing import Any, Callable, Iterable, Mapping, Optional

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .emulator import WSGIApp

__all__ = ["SandboxServer"]


class _QuietFastHandler(WSGIRequestHandler):
    # Keep-alive, so a client pays the TCP handshake once, not per request.
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Without TCP_NODELAY, Nagle's algorithm holds the body back until the client's delayed ACK
        # of the headers (~40 ms per request on Linux loopback).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        if type == "error":
            super().log(type, message, *args)


def _not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


class SandboxServer:
    """One HTTP server on 127.0.0.1 serving each service's app under ``/<service>``.

    ``port=0`` picks a free port. Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, apps: Mapping[str, WSGIApp], *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the sandbox only binds to loopback")
        self._apps = dict(apps)
        self._host = host
        self._port = port
        self._server: Optional[BaseWSGIServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Service name → base URL on this server."""
        return {service: f"{self.url}/{service}" for service in self._apps}

    def start(self) -> "SandboxServer":
        mounts = {f"/{service}": app for service, app in self._apps.items()}
        app = DispatcherMiddleware(_not_found, mounts)
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=_QuietFastHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="integrations-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
