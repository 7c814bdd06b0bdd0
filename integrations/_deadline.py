"""Makes one call's deadline bound its whole HTTP exchange, not just each socket operation.

requests and urllib3 only know per-operation timeouts: a server that drips its headers or its body a
byte at a time resets the read timeout with every byte and keeps a call alive for as long as it
likes. Here each connection's socket, once connected (after any proxy tunnel and TLS handshake), is
wrapped in a :class:`DeadlineSocket` that, before every ``recv``/``send``, lowers the socket's timeout
to what is left of the deadline of the call this thread is making, and fails at once when none is
left. The deadline lives in a thread-local (:data:`current`) because a pooled connection serves one
call after another, each with its own deadline; :meth:`integrations.transport.Transport.send` sets it
around ``session.request(...)``.

The connection classes are chosen when a connection is created (``ConnectionCls`` is read from
urllib3's own pool classes each time), so a library that swaps those classes, as vcrpy does while a
cassette is in use, still gets its own connections: those are left unwrapped.

Cost per socket operation: one thread-local read and one ``time.monotonic()``, plus a
``settimeout`` only when the effective timeout changed.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, Optional

import requests.adapters
from urllib3 import connection, connectionpool
from urllib3.exceptions import ConnectTimeoutError

__all__ = ["DeadlineAdapter", "DeadlineSocket", "current"]

_monotonic = time.monotonic


class _CallState(threading.local):
    """What the call this thread is making needs its sockets to know.

    - ``expires``: its deadline on the monotonic clock, ``None`` outside a call;
    - ``sent``: ``None`` until a connection of ours is used, ``False`` once one started connecting,
      ``True`` once a byte of the request may have left (the outcome of the call is then unknown).
    """

    expires: Optional[float] = None
    sent: Optional[bool] = None


current = _CallState()


def _deadline_passed() -> socket.timeout:
    return socket.timeout("the call's deadline has passed")


class DeadlineSocket:
    """A connected socket (or ``SSLSocket``, or urllib3's ``SSLTransport``) whose every operation
    ends by the current call's deadline.

    ``settimeout`` only records the configured timeout; the timeout applied to the real socket before
    each operation is ``min(configured, time left)``. ``makefile`` routes the buffered reads that
    ``http.client`` does through this object; ``close`` follows ``socket.socket``'s rule (the real
    socket closes once this object and every file made from it are closed).
    """

    __slots__ = ("_applied", "_closed", "_io_refs", "_sendall_bounded", "_sock", "_timeout")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._timeout: Optional[float] = sock.gettimeout()
        self._applied = self._timeout
        self._io_refs = 0
        self._closed = False
        # A plain socket's sendall is bounded as a whole by one timeout; an SSL socket's is a loop of
        # send() calls, each with the full timeout, so it is bounded here chunk by chunk.
        self._sendall_bounded = type(sock) is socket.socket

    def _arm(self) -> None:
        timeout = self._timeout
        expires = current.expires
        if expires is not None:
            left = expires - _monotonic()
            if left <= 0:
                raise _deadline_passed()
            if timeout is None or left < timeout:
                timeout = left
        if timeout != self._applied:
            self._sock.settimeout(timeout)
            self._applied = timeout

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._arm()
        return self._sock.recv_into(buffer, nbytes, flags)  # type: ignore[no-any-return]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._arm()
        return self._sock.recv(bufsize, flags)  # type: ignore[no-any-return]

    def send(self, data: Any, flags: int = 0) -> int:
        current.sent = True
        self._arm()
        return self._sock.send(data, flags)  # type: ignore[no-any-return]

    def sendall(self, data: Any, flags: int = 0) -> None:
        current.sent = True
        if self._sendall_bounded:
            self._arm()
            self._sock.sendall(data, flags)
            return
        with memoryview(data) as view, view.cast("B") as chunk:
            total, count = len(chunk), 0
            while count < total:
                self._arm()
                count += self._sock.send(chunk[count:], flags)

    def settimeout(self, value: Optional[float]) -> None:
        self._timeout = value

    def gettimeout(self) -> Optional[float]:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def fileno(self) -> int:
        return self._sock.fileno()  # type: ignore[no-any-return]

    def makefile(
        self,
        mode: str = "r",
        buffering: Optional[int] = None,
        *,
        encoding: Optional[str] = None,
        errors: Optional[str] = None,
        newline: Optional[str] = None,
    ) -> Any:
        # socket.socket.makefile, with this object (not the real socket) under the SocketIO.
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        binary = "b" in mode
        raw = socket.SocketIO(self, ("r" if reading else "") + ("w" if writing else ""))  # type: ignore[arg-type]
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if not binary:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: Any
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if binary:
            return buffer
        text = io.TextIOWrapper(buffer, encoding, errors, newline)
        text.mode = mode  # type: ignore[misc]
        return text

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._io_refs <= 0:
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        if name == "_sock":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self._sock, name)

    def __repr__(self) -> str:
        return f"<DeadlineSocket {self._sock!r}>"


def _time_left(conn: Any) -> Optional[float]:
    """Seconds left to the current call's deadline (``None`` outside a call); raises urllib3's
    ``ConnectTimeoutError`` when none is left, so nothing more is attempted."""
    expires = current.expires
    if expires is None:
        return None
    left = expires - _monotonic()
    if left <= 0:
        raise ConnectTimeoutError(conn, "the call's deadline has passed before the connection was made")
    return left


def _clamp_socket(conn: Any, sock: Any) -> None:
    """Lower a raw socket's timeout to the time left, for the proxy tunnel and the TLS handshake that
    follow the TCP connect (each is bounded as a whole by the socket's timeout)."""
    left = _time_left(conn)
    if left is not None:
        configured = sock.gettimeout()
        if configured is None or left < configured:
            sock.settimeout(left)


if TYPE_CHECKING:
    _ConnectionBase = connection.HTTPConnection
else:
    _ConnectionBase = object


class _DeadlineConnection(_ConnectionBase):
    """Bounds connecting by the time left, then wraps the connected socket in a DeadlineSocket."""

    def connect(self) -> None:
        left = _time_left(self)
        if left is not None:
            if current.sent is None:
                current.sent = False
            # Anything but a number (None, urllib3's "default" sentinel) means no connect timeout.
            timeout = self.timeout
            if not isinstance(timeout, (int, float)) or left < timeout:
                self.timeout = left
        super().connect()
        if self.sock is not None and not isinstance(self.sock, DeadlineSocket):
            self.sock = DeadlineSocket(self.sock)

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            _clamp_socket(self, sock)
        except BaseException:
            sock.close()
            raise
        return sock

    def _tunnel(self) -> None:
        super()._tunnel()
        if self.sock is not None:
            _clamp_socket(self, self.sock)


# urllib3's class names, as they appear in its error messages.
class HTTPConnection(_DeadlineConnection, connection.HTTPConnection):
    pass


class HTTPSConnection(_DeadlineConnection, connection.HTTPSConnection):
    pass


# Only urllib3's own classes are replaced: any other (a subclass someone patched in) is kept as is.
_WRAPPED: Dict[type, type] = {
    connection.HTTPConnection: HTTPConnection,
    connection.HTTPSConnection: HTTPSConnection,
}


class _ConnectionClass:
    """A pool's ``ConnectionCls``, read from urllib3's own pool class each time it is needed (vcrpy
    swaps that attribute while a cassette is in use), with urllib3's connection classes replaced by
    the deadline-bound ones."""

    def __init__(self, pool_class: type) -> None:
        self._pool_class = pool_class

    def __get__(self, pool: Any, owner: Optional[type] = None) -> Any:
        cls = self._pool_class.ConnectionCls  # type: ignore[attr-defined]
        return _WRAPPED.get(cls, cls)


class _WholeReplies:
    def urlopen(self, *args: Any, **kwargs: Any) -> Any:
        # urllib3 1.26 hands out a body shorter than its Content-Length as if it were whole unless
        # told otherwise (2.x refuses it by default): a truncated reply must never pass for a reply.
        kwargs.setdefault("enforce_content_length", True)
        return super().urlopen(*args, **kwargs)  # type: ignore[misc]


class HTTPConnectionPool(_WholeReplies, connectionpool.HTTPConnectionPool):
    ConnectionCls = _ConnectionClass(connectionpool.HTTPConnectionPool)


class HTTPSConnectionPool(_WholeReplies, connectionpool.HTTPSConnectionPool):
    ConnectionCls = _ConnectionClass(connectionpool.HTTPSConnectionPool)


_POOL_CLASSES: Dict[str, type] = {"http": HTTPConnectionPool, "https": HTTPSConnectionPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose pools (direct, and through HTTP(S) proxies) make deadline-bound
    connections. SOCKS proxies keep urllib3's own SOCKS pools: per-operation timeouts only."""

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if manager.pool_classes_by_scheme is not _POOL_CLASSES and not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager
