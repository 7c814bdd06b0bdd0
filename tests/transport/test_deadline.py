"""The call's deadline bounds the whole exchange, whatever the server does: silence, a body or headers
that drip in a byte at a time, a connect that hangs. Real loopback servers, no mocks."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Callable, Iterator, List

import pytest

from integrations import ConnectionError, Timeout, Timeouts
from integrations.transport import Deadline, Transport

# Measures real elapsed time: not run under faketime (see .ci/run).
pytestmark = pytest.mark.realtime

Handler = Callable[[socket.socket, threading.Event], None]

DRIP = 0.05  # seconds between two bytes: far below every read timeout used here


class LoopbackServer:
    """Listens on 127.0.0.1 and serves each accepted connection with ``handler(conn, stop)`` in a
    thread of its own. ``peers`` lists the accepted ones' client ports. Stops (and joins every thread) on
    exit; handlers wait on ``stop`` rather than sleep, and their sockets are shut down, so they end at
    once."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.stop = threading.Event()
        self.peers: List[int] = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.02)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self._threads: List[threading.Thread] = []
        self._conns: List[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, name="loopback-accept")

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, peer = self.listener.accept()
            except socket.timeout:
                continue
            self.peers.append(peer[1])
            self._conns.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), name="loopback-conn")
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            # OSError: the client gave up and closed, which is what these servers exist to provoke.
            with contextlib.suppress(OSError):
                self.handler(conn, self.stop)

    def __enter__(self) -> LoopbackServer:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._acceptor.join(5)
        self.listener.close()
        for conn in self._conns:  # wakes a handler blocked in recv on a kept-alive connection
            with contextlib.suppress(OSError):  # already closed by its handler
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)


def read_request(conn: socket.socket) -> bytes:
    """Read one request head (these tests send no bodies)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionAbortedError("client closed")
        data += chunk
    return data


def drip(conn: socket.socket, stop: threading.Event, data: bytes) -> None:
    for i in range(len(data)):
        if stop.wait(DRIP):
            return
        conn.sendall(data[i : i + 1])


def silent(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    stop.wait()


def body_drip(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n")
    drip(conn, stop, b"x" * 1000)


def chunked_drip(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    while not stop.wait(DRIP):
        conn.sendall(b"1\r\nx\r\n")


def header_drip(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    drip(conn, stop, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000 + b"\r\n\r\n")


def keep_alive(delay: float = 0.0) -> Handler:
    """Answers every request on the connection (after ``delay``), half with a Content-Length body and
    half chunked."""

    def handler(conn: socket.socket, stop: threading.Event) -> None:
        served = 0
        while True:
            try:
                read_request(conn)
            except ConnectionAbortedError:
                return
            if delay and stop.wait(delay):
                return
            served += 1
            body = b'{"n": %d}' % served
            if served % 2:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            else:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
                )

    return handler


def close_after_request(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)


def reset_after_request(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.fixture
def transport() -> Iterator[Transport]:
    t = Transport()
    yield t
    t.close()


@pytest.mark.parametrize(
    "handler",
    [silent, body_drip, chunked_drip, header_drip],
    ids=["silent", "body-content-length", "body-chunked", "headers"],
)
def test_a_hanging_server_cannot_outlast_the_deadline(transport, handler):
    with LoopbackServer(handler) as server:
        started = time.monotonic()
        with pytest.raises(Timeout) as info:
            transport.send(
                "GET",
                server.url + "/book?token=very-secret",
                deadline=Deadline(Timeouts.coerce(2)),
                request_id="r1",
            )
        elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 3, elapsed
    error = info.value
    assert error.outcome_unknown  # the request went out: the server may have acted on it
    assert error.request_id == "r1"
    assert f"GET {server.url}/book timed out: the call's 2 s deadline expired" in str(error)
    assert "very-secret" not in str(error)


def test_a_server_that_does_not_read_the_request_cannot_outlast_the_deadline(transport):
    def deaf(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait()  # reads nothing: the client's send buffer fills and its sendall blocks

    with LoopbackServer(deaf) as server:
        started = time.monotonic()
        with pytest.raises(Timeout) as info:
            transport.send(
                "POST",
                server.url + "/orders",
                json={"blob": "x" * 16_000_000},
                deadline=Deadline(Timeouts.coerce(0.5)),
            )
        elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.5, elapsed
    assert info.value.outcome_unknown  # part of the request went out
    assert "the call's 0.5 s deadline expired" in str(info.value)


def test_a_hanging_connect_is_bounded_by_the_deadline(transport):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: List[socket.socket] = []
    try:
        while len(fillers) < 8:  # fill the accept queue: from then on the kernel ignores new SYNs
            probe = socket.socket()
            probe.settimeout(0.1)
            try:
                probe.connect(address)
            except socket.timeout:
                probe.close()
                break
            fillers.append(probe)
        started = time.monotonic()
        with pytest.raises(Timeout) as info:
            transport.send(
                "POST",
                f"http://127.0.0.1:{address[1]}/orders",
                json={"qty": 1},
                deadline=Deadline(Timeouts(connect=10, read=10, total=0.5)),
            )
        elapsed = time.monotonic() - started
    finally:
        for probe in fillers:
            probe.close()
        listener.close()
    assert 0.45 <= elapsed < 1.5, elapsed
    assert not info.value.outcome_unknown  # never connected: nothing was sent
    assert "the call's 0.5 s deadline expired" in str(info.value)


def test_the_deadline_spans_every_send_of_the_call(transport):
    deadline = Deadline(Timeouts(connect=5, read=5, total=1))
    with LoopbackServer(keep_alive(delay=0.4)) as server:
        started = time.monotonic()
        assert transport.send("GET", server.url + "/a", deadline=deadline).json() == {"n": 1}
        assert transport.send("GET", server.url + "/a", deadline=deadline).json() == {"n": 2}
        with pytest.raises(Timeout, match="the call's 1 s deadline expired"):
            transport.send("GET", server.url + "/a", deadline=deadline)  # would answer at 1.2 s
        elapsed = time.monotonic() - started
        with pytest.raises(Timeout, match="not sent"):
            transport.send("GET", server.url + "/a", deadline=deadline)
    assert 0.95 <= elapsed < 1.5, elapsed


def test_a_fast_server_is_unaffected_and_its_connection_reused(transport):
    with LoopbackServer(keep_alive()) as server:
        deadline = Deadline(Timeouts.coerce(2))
        answers = [transport.send("GET", server.url + f"/n/{i}", deadline=deadline) for i in range(6)]
        # A deadline per call (the default) works the same on the same pooled connection.
        answers += [transport.send("GET", server.url + "/n/last") for _ in range(2)]
    assert [a.status for a in answers] == [200] * 8
    assert [a.json() for a in answers] == [{"n": n} for n in range(1, 9)]
    assert answers[1].headers["transfer-encoding"] == "chunked"
    assert len(server.peers) == 1


def test_a_pooled_connection_the_server_closed_is_noticed_and_replaced(transport):
    closed = threading.Event()

    def answer_once(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        conn.close()  # without saying so: the client finds out when it next takes it from the pool
        closed.set()

    with LoopbackServer(answer_once) as server:
        assert transport.send("GET", server.url + "/a").status == 200
        assert closed.wait(2)
        assert transport.send("GET", server.url + "/a").status == 200
    assert len(server.peers) == 2


def test_a_read_timeout_within_the_deadline_says_so(transport):
    with LoopbackServer(silent) as server:
        started = time.monotonic()
        with pytest.raises(Timeout) as info:
            transport.send(
                "GET", server.url + "/x", deadline=Deadline(Timeouts(connect=1, read=0.3, total=5))
            )
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1, elapsed
    assert info.value.outcome_unknown
    assert "ReadTimeout" in str(info.value)
    assert "deadline" not in str(info.value)


def test_nothing_listening_is_a_connection_error_with_nothing_sent(transport):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(ConnectionError) as info:
        transport.send(
            "POST",
            f"http://127.0.0.1:{port}/orders?token=very-secret",
            json={"qty": 1},
            deadline=Deadline(Timeouts.coerce(2)),
        )
    assert not info.value.outcome_unknown
    assert f"POST http://127.0.0.1:{port}/orders failed" in str(info.value)
    assert "very-secret" not in str(info.value)


@pytest.mark.parametrize("handler", [close_after_request, reset_after_request], ids=["closed", "reset"])
def test_a_connection_lost_after_sending_leaves_the_outcome_unknown(transport, handler):
    with LoopbackServer(handler) as server:
        started = time.monotonic()
        with pytest.raises(ConnectionError) as info:
            transport.send(
                "POST", server.url + "/orders", json={"qty": 1}, deadline=Deadline(Timeouts.coerce(2))
            )
    assert time.monotonic() - started < 1
    assert info.value.outcome_unknown


def test_an_expired_deadline_sends_nothing(transport):
    deadline = Deadline(Timeouts(total=0.001))
    while not deadline.expired:
        time.sleep(0.001)
    with LoopbackServer(keep_alive()) as server:
        with pytest.raises(Timeout) as info:
            transport.send("POST", server.url + "/orders", json={"qty": 1}, deadline=deadline)
        # Had the transport connected, the server would have accepted that connection before this probe.
        with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=2) as probe:
            port = probe.getsockname()[1]
            waited = time.monotonic()
            while port not in server.peers and time.monotonic() - waited < 2:
                time.sleep(0.005)
        assert server.peers == [port]
    assert not info.value.outcome_unknown
    assert "not sent" in str(info.value)
