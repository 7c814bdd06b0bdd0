"""What goes on the wire and what comes back: exact Decimals, refused non-finite numbers, the response
size cap enforced while reading, redirects never followed, and the failures that are never retried
(a TLS certificate that fails verification, a proxy's 407)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Iterator, List, Tuple

import pytest
import requests
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

import integrations
from integrations import errors
from integrations.protocols import jsonrpc
from integrations.protocols.rest import raise_for_status
from integrations.sandbox import Fault
from integrations.transport import DEFAULT_MAX_RESPONSE_BYTES, Response, Transport, dumps

# -- exact numbers out, finite numbers in --------------------------------------------------------


def test_decimals_are_written_digit_for_digit(alor_sandbox: Any) -> None:
    transport = Transport()
    body = {
        "price": Decimal("250.1000000000000000001"),
        "tiny": Decimal("1E-400"),
        "scaled": Decimal("100.50"),
        "nested": [Decimal("-0.000001"), {"x": Decimal("123456789012345678901234567890")}],
        "text": "\x00 not a stand-in",
    }
    transport.send("POST", alor_sandbox.base_urls["api"] + "/md/v2/time", json=body)
    sent = alor_sandbox.requests()[-1].body
    assert sent == (
        b'{"price":250.1000000000000000001,"tiny":1E-400,"scaled":100.50,'
        b'"nested":[-0.000001,{"x":123456789012345678901234567890}],"text":"\\u0000 not a stand-in"}'
    )
    assert json.loads(sent, parse_float=Decimal)["tiny"] == Decimal("1E-400")
    transport.close()


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN"), object(), {1j: 1}],
    ids=["nan", "inf", "Decimal NaN", "Decimal -inf", "Decimal sNaN", "object", "complex key"],
)
def test_what_json_cannot_hold_exactly_is_refused_before_sending(alor_sandbox: Any, value: Any) -> None:
    transport = Transport()
    with pytest.raises(errors.ValidationError):
        transport.send("POST", alor_sandbox.base_urls["api"] + "/md/v2/time", json={"price": value})
    assert alor_sandbox.requests() == []
    transport.close()


def test_dumps_refuses_a_circular_structure() -> None:
    loop: List[Any] = []
    loop.append(loop)
    with pytest.raises(errors.ValidationError):
        dumps(loop)


@pytest.mark.parametrize("body", [b"NaN", b'{"p": Infinity}', b"[-Infinity]", b'{"p": 1e999}'])
def test_a_reply_with_a_non_finite_number_is_a_protocol_error(body: bytes) -> None:
    response = Response(200, {"Content-Type": "application/json"}, body, "http://h/x?token=s", 0.0)
    with pytest.raises(errors.ProtocolError) as info:
        response.json()
    assert "token" not in str(info.value)
    if b"1e999" not in body:
        with pytest.raises(errors.ProtocolError):
            response.json(decimals=True)


# -- order books are validated, not coerced --------------------------------------------------------

GOOD = {"bids": [{"price": Decimal("1.5"), "volume": 2}], "asks": [], "ms_timestamp": 1, "existing": True}


@pytest.mark.parametrize(
    "change",
    [
        {"bids": [{"price": Decimal("1.5"), "volume": Decimal("1.9")}]},
        {"bids": [{"price": Decimal("1.5"), "volume": -1}]},
        {"bids": [{"price": Decimal("1.5"), "volume": True}]},
        {"bids": [{"price": Decimal("NaN"), "volume": 1}]},
        {"bids": [{"price": Decimal("Infinity"), "volume": 1}]},
        {"bids": [{"price": Decimal("-0.01"), "volume": 1}]},
        {"bids": [{"price": "abc", "volume": 1}]},
        {"bids": [{"price": Decimal("1.5")}]},
        {"bids": "none"},
        {"ms_timestamp": Decimal("17.5")},
        {"ms_timestamp": "1"},
        {"existing": "false"},
    ],
)
def test_a_malformed_order_book_is_a_protocol_error(change: Any) -> None:
    from integrations_alor.models import structure_orderbook

    with pytest.raises(errors.ProtocolError):
        structure_orderbook({**GOOD, **change}, "Simple")


@pytest.mark.parametrize(
    "body",
    [
        {"bids": [], "asks": []},  # no timestamp: never ms_timestamp=0
        {"message": "success", "orderNumber": "18995978561"},  # an order ack is not an empty book
        [],
    ],
)
def test_a_reply_of_another_shape_never_passes_for_an_order_book(body: Any) -> None:
    from integrations_alor.models import structure_orderbook

    with pytest.raises(errors.ProtocolError):
        structure_orderbook(body, "Simple")


def test_a_valid_order_book_still_parses_in_every_format() -> None:
    from integrations_alor.models import structure_orderbook

    book = structure_orderbook({"b": [{"p": Decimal("1.5"), "v": 2}], "a": None, "t": 7}, "Slim")
    assert (book.bids[0].price, book.bids[0].volume, book.asks, book.ms_timestamp) == (
        Decimal("1.5"),
        2,
        (),
        7,
    )
    assert structure_orderbook(GOOD, "Simple").existing is True


# -- the response size cap -----------------------------------------------------------------------


class _Chunked(BaseHTTPRequestHandler):
    """Streams ``/big`` chunked (no Content-Length) for as long as the client reads; ``/small`` is 2 bytes."""

    protocol_version = "HTTP/1.1"
    ports: ClassVar[List[int]] = []
    sent: ClassVar[List[int]] = []

    def do_GET(self) -> None:
        type(self).ports.append(self.client_address[1])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.path == "/small":
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b"[" + b"1," * 32767 + b"1]"
        total = 0
        try:
            for _ in range(4096):  # up to 256 MiB, if nobody stops reading
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                total += len(block)
        except OSError:
            pass
        finally:
            type(self).sent.append(total)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chunked_server() -> Iterator[str]:
    _Chunked.ports, _Chunked.sent = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Chunked)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_cap_stops_a_body_without_a_length_while_it_arrives(chunked_server: str) -> None:
    transport = Transport(max_response_bytes=256 * 1024)
    started = time.monotonic()
    with pytest.raises(errors.ProtocolError) as info:
        transport.send("GET", chunked_server + "/big?token=secret")
    assert "256 KiB cap" in str(info.value) and "secret" not in str(info.value)
    assert time.monotonic() - started < 2.0
    # The connection was closed, not pooled: the next request comes on a new one.
    assert transport.send("GET", chunked_server + "/small").json() == {}
    assert len(set(_Chunked.ports)) == 2
    deadline = time.monotonic() + 2
    while not _Chunked.sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _Chunked.sent and _Chunked.sent[0] < 64 * 1024 * 1024  # the server was cut off early
    transport.close()


def test_a_declared_length_over_the_cap_is_refused_before_reading(alor_sandbox: Any) -> None:
    alor_sandbox.faults.add(Fault.huge(200 * 1024 * 1024, path="/md/v2/time"))
    transport = Transport(max_response_bytes=1024 * 1024)
    started = time.monotonic()
    with pytest.raises(errors.ProtocolError) as info:
        transport.send("GET", alor_sandbox.base_urls["api"] + "/md/v2/time")
    assert "1 MiB cap" in str(info.value) and "declares 209715200 bytes" in str(info.value)
    assert time.monotonic() - started < 2.0
    transport.close()


def test_the_cap_has_a_default_and_is_checked() -> None:
    assert Transport().max_response_bytes == DEFAULT_MAX_RESPONSE_BYTES == 16 * 1024 * 1024
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(errors.ValidationError):
            Transport(max_response_bytes=bad)  # type: ignore[arg-type]


# -- redirects and refusals, whatever the body -----------------------------------------------------

RPC_RESULT = b'{"jsonrpc":"2.0","id":1,"result":{"ok":true}}'
SENT = jsonrpc.envelope("Campaign.getList", None, 1)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_protocol_error_for_both_protocols(status: int) -> None:
    response = Response(
        status, {"Location": "/elsewhere", "Content-Type": "application/json"}, RPC_RESULT, "u", 0
    )
    with pytest.raises(errors.ProtocolError, match=f"unexpected HTTP {status}"):
        jsonrpc.check_response(
            response, SENT, provider="td", authenticated=True, auth_rule=jsonrpc.AuthErrorRule()
        )
    with pytest.raises(errors.ProtocolError, match=f"unexpected HTTP {status}"):
        raise_for_status("alor", response)


def test_a_429_with_a_json_rpc_body_is_rate_limited_with_its_retry_after() -> None:
    body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"Slow down"}}'
    headers = {"Retry-After": "Sun, 22 Nov 2026 06:00:09 GMT", "Date": "Sun, 22 Nov 2026 06:00:00 GMT"}
    response = Response(429, headers, body, "u", 0)
    with pytest.raises(errors.RateLimited) as info:
        jsonrpc.check_response(
            response, SENT, provider="td", authenticated=True, auth_rule=jsonrpc.AuthErrorRule()
        )
    assert info.value.retry_after == 9
    assert "Slow down" in str(info.value)


@pytest.mark.parametrize("provider", ["alor", "tradingdesk"])
def test_a_proxy_407_answer_is_not_retried(request: Any, provider: str) -> None:
    short = "alor" if provider == "alor" else "td"
    sb, client = request.getfixturevalue(f"{short}_sandbox"), request.getfixturevalue(f"{short}_live")
    sb.faults.add(Fault.respond(407, {"Proxy-Authenticate": "Basic"}, "<html>proxy</html>"))
    with pytest.raises(errors.TransportError) as info:
        client.orderbook("MOEX", "SBER") if provider == "alor" else client.campaigns()
    assert info.value.should_retry is False and info.value.outcome_unknown is False
    assert "407" in str(info.value)
    assert len(sb.requests()) == 1


def test_a_proxy_that_refuses_the_tunnel_with_407_is_not_retried(monkeypatch: Any, alor_sandbox: Any) -> None:
    calls: List[Any] = []

    def refuse(self: Any, request: Any, **kwargs: Any) -> Any:
        calls.append(request)
        reason = Urllib3ProxyError(
            "Unable to connect to proxy",
            OSError("Tunnel connection failed: 407 Proxy Authentication Required"),
        )
        raise requests.exceptions.ProxyError(MaxRetryError(None, request.url, reason), request=request)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", refuse)
    with (
        integrations.connect(
            "alor", base_urls=alor_sandbox.base_urls, credentials=alor_sandbox.credentials
        ) as c,
        pytest.raises(errors.TransportError) as info,
    ):
        c.orderbook("MOEX", "SBER")
    assert info.value.should_retry is False and info.value.outcome_unknown is False
    assert "proxy demands authentication" in str(info.value)
    assert len(calls) == 1


# -- TLS: a certificate that fails verification is not retried -----------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[Tuple[str, List[int]]]:
    """A TLS server on 127.0.0.1 with a self-signed certificate nobody trusts; counts handshakes."""
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover
        pytest.skip("no openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    accepted: List[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (socket.timeout, OSError):
                continue
            accepted.append(1)
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}", accepted
    stop.set()
    thread.join(2)
    listener.close()


def test_a_certificate_that_fails_verification_is_not_retried(tls_server: Tuple[str, List[int]]) -> None:
    url, accepted = tls_server
    credentials = {"refresh_token": "tls-test-refresh-token"}
    client = integrations.connect("alor", base_urls={"api": url, "oauth": url}, credentials=credentials)
    with client, pytest.raises(errors.TransportError) as info:
        client.orderbook("MOEX", "SBER")
    assert info.value.should_retry is False and info.value.outcome_unknown is False
    assert "certificate failed verification" in str(info.value)
    assert "tls-test-refresh-token" not in str(info.value)
    assert len(accepted) == 1  # one handshake: no retry
