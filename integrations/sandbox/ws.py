"""WebSocket servers for emulators that stream: one ``websockets`` synchronous server per service,
each bound to 127.0.0.1 and served from its own daemon thread.

An emulator offers WebSocket services through an optional ``websocket_apps() -> {service: handler}``
method; ``handler(connection)`` gets a ``websockets.sync.server.ServerConnection`` and runs in the
server's thread for that connection until it returns. :func:`integrations.sandbox.start` starts one
:class:`WebSocketServer` per service, adds ``ws://127.0.0.1:PORT/<service>`` to ``base_urls`` and
stops them with the sandbox. ``websockets`` (the ``streaming`` extra) is imported only here.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Optional

__all__ = ["WebSocketHandler", "WebSocketServer"]

WebSocketHandler = Callable[[Any], None]

_STOP_TIMEOUT = 5.0


class WebSocketServer:
    """Serve ``handler`` on ``ws://127.0.0.1:PORT/<path>`` (``port=0``: any free port)."""

    def __init__(
        self, handler: WebSocketHandler, *, path: str, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sandbox only binds to loopback")
        self._handler = handler
        self._path = "/" + path.strip("/")
        self._host = host
        self._port = port
        self._server: Any = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self._connections: set[Any] = set()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the WebSocket server is not running")
        return f"ws://{self._host}:{self._server.socket.getsockname()[1]}{self._path}"

    def _serve(self, connection: Any) -> None:
        with self._lock:
            self._connections.add(connection)
        try:
            self._handler(connection)
        finally:
            with self._lock:
                self._connections.discard(connection)

    def start(self) -> WebSocketServer:
        from websockets.sync.server import serve

        self._server = serve(
            self._serve,
            self._host,
            self._port,
            compression=None,
            ping_interval=None,  # the clients' liveness is their business; no timer threads
            close_timeout=1.0,  # a client that never answers the close handshake holds no thread long
            max_size=16 * 1024 * 1024,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="integrations-sandbox-ws", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close every connection and join the server's threads. Idempotent."""
        server, self._server = self._server, None
        if server is not None:
            with self._lock:
                connections = list(self._connections)
            for connection in connections:
                with contextlib.suppress(Exception):
                    connection.close()
            with contextlib.suppress(Exception):
                server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=_STOP_TIMEOUT)
            self._thread = None

    def __enter__(self) -> WebSocketServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
