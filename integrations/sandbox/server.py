"""Runs an emulator's WSGI apps on a real threaded HTTP/1.1 server bound to 127.0.0.1.

Why not werkzeug's development server: it closes the connection after every response (it cannot
drain request bodies between keep-alive requests), so each request would pay a TCP handshake. This
server reads every request body in full by ``Content-Length``, keeps connections alive, sets
``TCP_NODELAY`` and writes each response with one ``sendall``: no Nagle/delayed-ACK stall (~40 ms on
Linux) and well under a millisecond per request on loopback.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import unquote

from .emulator import WSGIApp

__all__ = ["SandboxServer"]

_MAX_BODY = 16 * 1024 * 1024


class _Dispatcher:
    """Routes ``/<service>/...`` to that service's app, with ``SCRIPT_NAME`` set to the prefix."""

    def __init__(self, apps: Mapping[str, WSGIApp]) -> None:
        self._apps = {f"/{name}": app for name, app in apps.items()}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        prefix = "/" + path.lstrip("/").split("/", 1)[0]
        app = self._apps.get(prefix)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"not found"]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
        environ["PATH_INFO"] = path[len(prefix):]
        return app(environ, start_response)


class _WSGIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "integrations-sandbox"
    sys_version = ""
    app: Callable[..., Iterable[bytes]]

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def _handle(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._plain(411, b"chunked request bodies are not supported; send Content-Length")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._plain(400, b"bad Content-Length")
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": self.path,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length) if length else "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.connection.getsockname()[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[key] = f"{environ[key]},{value}" if key in environ else value

        status_headers: List[Tuple[str, List[Tuple[str, str]]]] = []

        def start_response(
            status: str, headers: List[Tuple[str, str]], exc_info: Any = None
        ) -> Callable[..., Any]:
            status_headers[:] = [(status, headers)]
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = status_headers[0]
        lines = [f"HTTP/1.1 {status}"]
        has_length = False
        for name, value in headers:
            if name.lower() == "content-length":
                has_length = True
                value = str(len(payload))
            if name.lower() != "connection":
                lines.append(f"{name}: {value}")
        if not has_length and not status.startswith(("204", "304", "1")):
            lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + (b"" if self.command == "HEAD" else payload))

    def _plain(self, code: int, message: bytes) -> None:
        self.close_connection = True
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(message)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(message)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Many keep-alive connections from a benchmark or a 16-thread test are normal here.
    request_queue_size = 128


class SandboxServer:
    """One HTTP server on 127.0.0.1 serving each service's app under ``/<service>``.

    ``port=0`` picks a free port. Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, apps: Mapping[str, WSGIApp], *, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sandbox only binds to loopback")
        self._apps = dict(apps)
        self._host = host
        self._port = port
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self._host}:{self._server.server_address[1]}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Service name → base URL on this server."""
        return {service: f"{self.url}/{service}" for service in self._apps}

    def start(self) -> SandboxServer:
        handler = type("Handler", (_WSGIHandler,), {"app": staticmethod(_Dispatcher(self._apps))})
        self._server = _Server((self._host, self._port), handler)
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

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
