"""The transport honours the environment as requests does (proxies, NO_PROXY, CA bundles), read once
when it is built; explicit ``proxies=`` and ``verify=`` win; a private CA works; a certificate that
fails verification is refused once, not retried."""

from __future__ import annotations

import builtins
import contextlib
import http.client
import http.server
import logging
import re
import socket
import ssl
import sys
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import integrations
from integrations import ConnectionError, Timeout, TransportError
from integrations.transport import Transport

_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _CountingProxy

    def _forward(self) -> None:
        self.server.seen.append((self.command, self.path))
        if self.server.stall:
            self.server.stall.wait(10)
        if self.server.answer is not None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.server.answer)))
            self.end_headers()
            self.wfile.write(self.server.answer)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = http.client.urlsplit(self.path)  # type: ignore[attr-defined]
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        path = target.path + ("?" + target.query if target.query else "")
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in ("connection", "proxy-connection", "host")
        }
        conn.request(self.command, path, body=body, headers=headers)
        reply = conn.getresponse()
        content = reply.read()
        conn.close()
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def do_CONNECT(self) -> None:
        self.server.seen.append((self.command, self.path))
        host, _, port = self.path.rpartition(":")
        upstream = socket.create_connection((host, int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        client = self.connection

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while True:
                    data = source.recv(65536)
                    if not data:
                        break
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                for s in (source, sink):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        back = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        back.start()
        pump(client, upstream)
        back.join(10)
        upstream.close()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class _CountingProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.seen: List[Tuple[str, str]] = []
        self.stall: Any = None
        self.answer: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-tunnel (a deadline test, the end of a test) is not a failure.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


@pytest.fixture
def proxy() -> Iterator[_CountingProxy]:
    server = _CountingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if server.stall:
            server.stall.set()
        server.shutdown()
        server.server_close()


def _alor(sb: Any, **options: Any) -> Any:
    return integrations.connect("alor", base_urls=sb.base_urls, credentials=sb.credentials, **options)


def test_http_proxy_from_the_environment_carries_every_call(alor_sandbox, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with _alor(alor_sandbox) as client:
        book = client.orderbook("MOEX", "SBER", depth=5)
    assert book.bids
    assert any("/md/v2/orderbooks/MOEX/SBER" in path for _, path in proxy.seen)
    # The refresh token travels in the body, never in a URL a proxy logs.
    token = alor_sandbox.credentials["refresh_token"]
    assert all(token not in path for _, path in proxy.seen)


def test_the_lower_case_variable_works_too(alor_sandbox, proxy, monkeypatch):
    monkeypatch.setenv("http_proxy", proxy.url)
    with _alor(alor_sandbox) as client:
        client.orderbook("MOEX", "SBER", depth=5)
    assert proxy.seen


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.0/8", "*"])
def test_no_proxy_covering_the_host_goes_direct(alor_sandbox, proxy, monkeypatch, no_proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    with _alor(alor_sandbox) as client:
        assert client.orderbook("MOEX", "SBER", depth=5).bids
    assert proxy.seen == []


def test_the_environment_is_read_when_the_client_is_built(alor_sandbox, proxy, monkeypatch):
    with _alor(alor_sandbox) as client:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client.orderbook("MOEX", "SBER", depth=5)
    assert proxy.seen == []


def test_trust_env_false_ignores_the_environment(alor_sandbox, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    with _alor(alor_sandbox, trust_env=False) as client:
        client.orderbook("MOEX", "SBER", depth=5)
    assert proxy.seen == []


def test_explicit_proxies_win_over_the_environment(alor_sandbox, proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port: nothing listens
    with _alor(alor_sandbox, proxies={"http": proxy.url}) as client:
        assert client.orderbook("MOEX", "SBER", depth=5).bids
    assert proxy.seen


def test_explicit_proxies_without_the_environment(alor_sandbox, proxy):
    with _alor(alor_sandbox, proxies={"http": proxy.url}) as client:
        client.orderbook("MOEX", "SBER", depth=5)
    assert proxy.seen


def test_the_size_cap_holds_through_a_proxy(alor_sandbox, proxy):
    proxy.answer = b"x" * 100_000
    transport = Transport(proxies={"http": proxy.url}, max_response_bytes=1024)
    url = alor_sandbox.base_urls["api"] + "/md/v2/orderbooks/MOEX/SBER?depth=20"
    with pytest.raises(integrations.ProtocolError, match="max_response_bytes=1024"):
        transport.send("GET", url)
    assert proxy.seen


@pytest.mark.realtime
def test_the_deadline_holds_through_a_proxy(alor_sandbox, proxy):
    proxy.stall = threading.Event()
    transport = Transport(proxies={"http": proxy.url})
    deadline = integrations.Deadline(integrations.Timeouts(connect=1, read=5, total=0.5))
    with pytest.raises(Timeout) as caught:
        transport.send(
            "GET", alor_sandbox.base_urls["api"] + "/md/v2/orderbooks/MOEX/SBER", deadline=deadline
        )
    assert deadline.elapsed() < 1.5
    assert isinstance(caught.value, TimeoutError)


def test_a_failure_is_a_builtin_connection_error_with_a_sanitised_cause():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError) as caught:
        Transport().send("GET", f"http://user:pw@127.0.0.1:{port}/x?token=SECRET")
    exc = caught.value
    assert isinstance(exc, builtins.ConnectionError) and isinstance(exc, OSError)
    cause = exc.__cause__
    assert cause is not None and exc.__context__ is None
    assert "SECRET" not in str(cause) and "pw@" not in str(cause)
    assert cause.__cause__ is None and cause.__context__ is None


# ---- a private CA --------------------------------------------------------------------------------


class _TlsFront:
    """An ``ssl``-wrapped loopback server that answers every request with a fixed JSON body and
    counts the TLS handshakes it sees (successful or not)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.handshakes = 0
        self.stall = threading.Event()
        self.stall.set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}/ping"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            self.handshakes += 1
            threading.Thread(target=self._answer, args=(raw,), daemon=True).start()

    def _answer(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                self.stall.wait(10)
                body = b'{"ok": true}'
                tls.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
        except (OSError, ssl.SSLError):
            pass
        finally:
            raw.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def private_ca(tmp_path: Any) -> Iterator[Tuple[str, _TlsFront]]:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    front = _TlsFront(context)
    try:
        yield str(path), front
    finally:
        front.stall.set()
        front.close()


def test_requests_ca_bundle_names_a_private_ca(private_ca, monkeypatch):
    path, front = private_ca
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", path)
    assert Transport().send("GET", front.url).json() == {"ok": True}


@pytest.mark.parametrize("variable", ["CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_other_ca_variables(private_ca, monkeypatch, variable):
    path, front = private_ca
    monkeypatch.setenv(variable, path)
    assert Transport().send("GET", front.url).json() == {"ok": True}


def test_verify_names_a_private_ca(private_ca):
    path, front = private_ca
    assert Transport(verify=path).send("GET", front.url).json() == {"ok": True}


def test_an_unknown_ca_fails_once_and_is_not_retried(private_ca, alor_sandbox):
    _, front = private_ca
    with pytest.raises(TransportError, match="certificate failed verification") as caught:
        Transport().send("GET", front.url)
    assert caught.value.should_retry is False
    assert front.handshakes == 1
    # Through a client too: a call is not retried after it.
    urls: Dict[str, str] = {**alor_sandbox.base_urls, "api": f"https://127.0.0.1:{front.port}"}
    with (
        integrations.connect(
            "alor", base_urls=urls, credentials=alor_sandbox.credentials, max_retries=3
        ) as client,
        pytest.raises(TransportError, match="certificate failed verification"),
    ):
        client.request("GET", "/ping")
    assert front.handshakes == 2


def test_a_connect_tunnel_carries_tls_to_a_private_ca(private_ca, proxy, monkeypatch):
    path, front = private_ca
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    assert Transport(verify=path).send("GET", front.url).json() == {"ok": True}
    assert proxy.seen == [("CONNECT", f"127.0.0.1:{front.port}")]


@pytest.mark.realtime
def test_the_deadline_holds_through_a_connect_tunnel(private_ca, proxy):
    path, front = private_ca
    front.stall.clear()
    transport = Transport(verify=path, proxies={"https": proxy.url})
    deadline = integrations.Deadline(integrations.Timeouts(connect=1, read=5, total=0.5))
    with pytest.raises(Timeout, match="deadline"):
        transport.send("GET", front.url, deadline=deadline)
    assert deadline.elapsed() < 1.5
    assert proxy.seen and proxy.seen[0][0] == "CONNECT"


def test_one_debug_line_per_exchange_names_the_operation(alor_sandbox, caplog):
    caplog.set_level(logging.DEBUG, logger="integrations.transport")
    url = alor_sandbox.base_urls["api"] + "/md/v2/orderbooks/MOEX/SBER?depth=5"
    Transport().send("GET", url, operation="alor.orderbook")
    lines = [r.getMessage() for r in caplog.records if r.name == "integrations.transport"]
    assert len(lines) == 1
    assert re.fullmatch(
        r"alor\.orderbook GET http://127\.0\.0\.1:\d+/api/md/v2/orderbooks/MOEX/SBER -> 401 in [0-9.]+ ms",
        lines[0],
    )
