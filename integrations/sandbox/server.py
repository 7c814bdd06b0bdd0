"""Runs an emulator's WSGI apps on a real threaded HTTP/1.1 server bound to 127.0.0.1.

Why not werkzeug's development server: it closes the connection after every response (it cannot
drain request bodies between keep-alive requests), so each request would pay a TCP handshake. This
server reads every request body in full by ``Content-Length``, keeps connections alive, sets
``TCP_NODELAY`` and writes each response with one ``sendall``: no Nagle/delayed-ACK stall (~40 ms on
Linux) and well under a millisecond per request on loopback.

Every request is recorded in a bounded log (:meth:`SandboxServer.requests`) and matched against the
server's :class:`~integrations.sandbox.faults.FaultPlan` (:attr:`SandboxServer.faults`), so faults
apply to whatever apps the server serves. With no fault in the plan nothing is parsed or matched.
:meth:`SandboxServer.stop` ends every connection and joins every handler thread, also those held by
a silent or dripping fault.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import socket
import struct
import sys
import threading
import time
from collections import deque
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterable, List, Mapping, Optional, Tuple
from urllib.parse import unquote

from .emulator import WSGIApp
from .faults import Fault, FaultHandle, FaultPlan, Headers, RequestRecord, rpc_methods, split_service

__all__ = ["SandboxServer"]

_MAX_BODY = 16 * 1024 * 1024
_REQUEST_LOG = 10_000
_STOP_TIMEOUT = 5.0
_PHRASES = {s.value: s.phrase for s in HTTPStatus}
_HUGE_BLOCK = b"x" * 65536

WSGIHeaders = List[Tuple[str, str]]


class _Dispatcher:
    """Routes ``/<service>/...`` to that service's app, with ``SCRIPT_NAME`` set to the prefix."""

    def __init__(self, apps: Mapping[str, WSGIApp]) -> None:
        self._apps = dict(apps)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        service, inner = split_service(environ.get("PATH_INFO", ""))
        app = self._apps.get(service)
        if app is None:
            start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
            return [b"not found"]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + service
        environ["PATH_INFO"] = inner
        return app(environ, start_response)


# A log entry is a list (cheap to build on the hot path) turned into a RequestRecord when read.
_SEQ, _AT, _METHOD, _PATH, _QUERY, _HEADERS, _BODY, _PORT, _HANDLE, _STATUS, _PROCESSED = range(11)


class _RequestLog:
    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: Deque[List[Any]] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def add(self, method: str, path: str, query: str, headers: Any, body: bytes, port: int) -> List[Any]:
        entry = [0, time.monotonic(), method, path, query, headers, body, port, None, None, False]
        with self._lock:
            entry[_SEQ] = next(self._seq)
            self._entries.append(entry)
        return entry

    def records(self) -> List[RequestRecord]:
        with self._lock:
            entries = list(self._entries)
        return [_record(entry) for entry in entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _record(entry: List[Any], *, parse_rpc: bool = True) -> RequestRecord:
    service, inner = split_service(entry[_PATH])
    handle: Optional[FaultHandle] = entry[_HANDLE]
    return RequestRecord(
        seq=entry[_SEQ],
        at=entry[_AT],
        service=service,
        method=entry[_METHOD],
        path=inner,
        query=entry[_QUERY],
        rpc_methods=rpc_methods(entry[_QUERY], entry[_BODY]) if parse_rpc else (),
        headers=Headers(entry[_HEADERS].items()),
        body=entry[_BODY],
        connection=entry[_PORT],
        fault=handle.fault if handle is not None else None,
        status=entry[_STATUS],
        processed=entry[_PROCESSED],
        fault_handle=handle,
    )


class _State:
    """What every handler of one server shares."""

    def __init__(self, plan: FaultPlan, log: _RequestLog) -> None:
        self.plan = plan
        self.log = log
        self.stopping = threading.Event()


def _head(status: str, headers: Iterable[Tuple[str, str]], length: Optional[int], close: bool) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    for name, value in headers:
        if name.lower() not in ("content-length", "connection"):
            lines.append(f"{name}: {value}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _status_line(code: int) -> str:
    return f"{code} {_PHRASES.get(code, 'Unknown')}"


class _WSGIHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "integrations-sandbox"
    sys_version = ""
    app: Callable[..., Iterable[bytes]]
    state: _State

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass

    def _handle(self) -> None:
        state = self.state
        raw_path, _, query = self.path.partition("?")
        path = unquote(raw_path, "latin-1")
        port = self.client_address[1]
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            state.log.add(self.command, path, query, self.headers, b"", port)[_STATUS] = 411
            self._plain(411, b"chunked request bodies are not supported; send Content-Length")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            state.log.add(self.command, path, query, self.headers, b"", port)[_STATUS] = 400
            self._plain(400, b"bad Content-Length")
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client left (or stop() ended it) mid-body: nothing to process
            self.close_connection = True
            return
        entry = state.log.add(self.command, path, query, self.headers, body, port)
        if state.plan.active:  # the no-fault path parses nothing
            handle = state.plan.take(_record(entry, parse_rpc=state.plan.needs_rpc_methods))
            if handle is not None:
                entry[_HANDLE] = handle
                try:
                    self._apply(handle.fault, entry, path, query, body)
                except OSError:  # the client went away, or stop() ended the connection
                    self.close_connection = True
                return
        status, headers, payload = self._run_app(entry, path, query, body)
        self.wfile.write(self._response(status, headers, payload))

    def _run_app(
        self, entry: List[Any], path: str, query: str, body: bytes
    ) -> Tuple[str, WSGIHeaders, bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "RAW_URI": self.path,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)) if body else "",
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

        status_headers: List[Tuple[str, WSGIHeaders]] = []

        def start_response(status: str, headers: WSGIHeaders, exc_info: Any = None) -> Callable[..., Any]:
            status_headers[:] = [(status, headers)]
            return lambda data: None

        entry[_PROCESSED] = True
        result = self.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = status_headers[0]
        with contextlib.suppress(ValueError):
            entry[_STATUS] = int(status[:3])
        return status, headers, payload

    def _response(self, status: str, headers: WSGIHeaders, payload: bytes) -> bytes:
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
        return head + (b"" if self.command == "HEAD" else payload)

    # -- faults -----------------------------------------------------------------------------------

    def _apply(self, fault: Fault, entry: List[Any], path: str, query: str, body: bytes) -> None:
        action = fault.action
        if action == "respond":
            entry[_STATUS] = fault.status
            self._send(_status_line(fault.status), fault.headers, fault.body)
        elif action == "redirect":
            entry[_STATUS] = fault.status
            self._send(_status_line(fault.status), [("Location", fault.location)], b"")
        elif action == "huge":
            entry[_STATUS] = fault.status
            self._huge(fault)
        elif action == "reset":
            self._abort(fault.how)
        elif action == "silence":
            self._silence()
        else:  # the app answers first: drop_reply, drip, truncate
            status, headers, payload = self._run_app(entry, path, query, body)
            if action == "drop_reply":
                self._abort(fault.how)
                return
            data = self._response(status, headers, payload)
            head = len(data) - (0 if self.command == "HEAD" else len(payload))
            if action == "truncate":
                self.wfile.write(data[: head + fault.after])
                self._abort(fault.how)
            else:
                self._drip(data, 0 if fault.head else head, fault)

    def _send(self, status: str, headers: Iterable[Tuple[str, str]], body: bytes) -> None:
        head = _head(status, headers, len(body), self.close_connection)
        self.wfile.write(head + (b"" if self.command == "HEAD" else body))

    def _abort(self, how: str) -> None:
        """End the connection now: a TCP RST (``reset``) or a clean FIN (``close``)."""
        self.close_connection = True
        sock = self.connection
        if how == "reset":
            # Linger on, timeout 0: close() discards anything unsent and sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()  # the makefile() holds the descriptor open until it is closed too
            sock.close()
        else:
            sock.shutdown(socket.SHUT_RDWR)

    def _drip(self, data: bytes, start: int, fault: Fault) -> None:
        stopping = self.state.stopping
        if start:
            self.wfile.write(data[:start])
        view = memoryview(data)
        pos = start
        while pos < len(data):
            self.wfile.write(view[pos : pos + fault.chunk])
            pos += fault.chunk
            if pos < len(data) and stopping.wait(fault.interval):
                self._abort("close")
                return

    def _huge(self, fault: Fault) -> None:
        size = fault.size
        prefix, suffix = (b'{"data":"', b'"}') if size >= 11 else (b'"', b'"')
        head = _head(
            _status_line(fault.status), [("Content-Type", "application/json")], size, self.close_connection
        )
        if self.command == "HEAD":
            self.wfile.write(head)
            return
        self.wfile.write(head + prefix)
        remaining = size - len(prefix) - len(suffix)
        block = memoryview(_HUGE_BLOCK)
        while remaining > 0:
            if self.state.stopping.is_set():
                self._abort("close")
                return
            n = min(remaining, len(block))
            self.wfile.write(block[:n])
            remaining -= n
        self.wfile.write(suffix)

    def _silence(self) -> None:
        """Hold the connection without answering until the client closes it or the server stops."""
        self.close_connection = True
        sock, stopping = self.connection, self.state.stopping
        sock.settimeout(0.1)  # the connection ends after this, so its timeout may change
        while not stopping.is_set():
            try:
                if not sock.recv(65536):  # EOF: the client (or stop()) closed it
                    return
            except socket.timeout:
                continue

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

    def __init__(self, address: Tuple[str, int], handler: Any, stopping: threading.Event) -> None:
        super().__init__(address, handler)
        self.stopping = stopping
        self._conn_lock = threading.Lock()
        self._conns: Dict[socket.socket, threading.Thread] = {}

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            if self.stopping.is_set():
                self.shutdown_request(request)
                return
            self._conns[request] = threading.current_thread()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conn_lock:
                self._conns.pop(request, None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError) or (self.stopping.is_set() and isinstance(exc, OSError)):
            return  # the client went away, or stop() ended the connection: nothing to report
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        """End every open connection (idle keep-alive ones too) and join their handler threads."""
        with self._conn_lock:
            conns = list(self._conns.items())
        for sock, _ in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in conns:
            thread.join(max(0.0, deadline - time.monotonic()))


class SandboxServer:
    """One HTTP server on 127.0.0.1 serving each service's app under ``/<service>``.

    ``port=0`` picks a free port. Use as a context manager, or call :meth:`start` and :meth:`stop`.
    :attr:`faults` is the fault plan (faults may be added before :meth:`start`); :meth:`requests`
    returns the last ``request_log`` requests received (``request_log=0`` keeps none).
    """

    def __init__(
        self,
        apps: Mapping[str, WSGIApp],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_log: int = _REQUEST_LOG,
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sandbox only binds to loopback")
        self._apps = dict(apps)
        self._host = host
        self._port = port
        self.faults = FaultPlan()
        self._log = _RequestLog(request_log)
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

    def requests(self) -> List[RequestRecord]:
        """The requests received so far (the most recent ``request_log``), oldest first; each is
        counted on arrival, also when a fault drops, resets or never answers it."""
        return self._log.records()

    def clear_requests(self) -> None:
        self._log.clear()

    def start(self) -> SandboxServer:
        state = _State(self.faults, self._log)
        handler = type(
            "Handler", (_WSGIHandler,), {"app": staticmethod(_Dispatcher(self._apps)), "state": state}
        )
        self._server = _Server((self._host, self._port), handler, state.stopping)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="integrations-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every connection (a silent or dripping fault's too) and join the threads."""
        server = self._server
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.server_close()
            server.close_connections(_STOP_TIMEOUT)
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=_STOP_TIMEOUT)
            self._thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
