"""The Trading Desk guide's own examples (docs/seeds/002_7fd84ed93695604f.txt), each stored verbatim:
every documented reply goes through the public typed method and gives its documented values, every
documented request is compared with what the client sends, and the reply envelope its prose
describes (JSON-RPC 1.0 style: ``result`` null on error, ``error`` null on success) is read too.

Documented replies are served by the live sandbox through its fault control (``Fault.respond``);
the envelope variants and the zero expiry by a stub JSON-RPC server on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

import integrations
from integrations import RpcError, Token
from integrations.runtime import SequentialIds
from integrations.sandbox import Fault, SandboxServer
from integrations.testing.shapes import json_shape
from integrations.tokens import MemoryTokenStore

# The guides' examples, verbatim, one file each (their sources: tests/documented/examples/README.md).
EXAMPLES = Path(__file__).resolve().parents[1] / "documented" / "examples"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


# "Токен доступа": the example request with its headers (a curl command).
CURL_HEADERS = {"Content-Type": "application/json", "Authorization": "Bearer eyJ0..._7JU"}
CURL_URL = "https://tdm4.adcloud.org/api/v2/?method=Statistic.getTarget"
CURL_BODY_KEYS = ("jsonrpc", "method", "params", "id")  # "params": {...} is elided in the guide

# Метод "User.auth": request and reply.
AUTH_REQUEST = example("tradingdesk/user_auth_request.json")
AUTH_REPLY = example("tradingdesk/user_auth_reply.json")

# Метод "User.tokenRefresh": request and reply.
REFRESH_REQUEST = example("tradingdesk/token_refresh_request.json")
REFRESH_REPLY = example("tradingdesk/token_refresh_reply.json")

# Метод "User.getInfo": request and reply (the guide's e-mail is obfuscated as "[email protected]").
GET_INFO_REQUEST = example("tradingdesk/user_get_info_request.json")
GET_INFO_REPLY = example("tradingdesk/user_get_info_reply.json")

JSON = {"Content-Type": "application/json"}


def shape(value: Any) -> Any:
    return json_shape(value)


def _client(sb: Any, clock: Any, credentials: Optional[Dict[str, str]] = None, **options: Any) -> Any:
    # A fresh id sequence: the client's first request has the guide's "id": 1.
    return integrations.connect(
        "tradingdesk",
        base_urls=sb.base_urls,
        credentials=credentials or sb.credentials,
        clock=clock,
        ids=SequentialIds(),
        **options,
    )


def _sent(sb: Any, method: str) -> Any:
    return [r for r in sb.requests() if method in r.rpc_methods][-1]


# -- replies through the typed methods ----------------------------------------------------------


def test_the_auth_reply_gives_a_token_whose_zero_expiry_means_unknown(td_sandbox, clock):
    td_sandbox.faults.add(Fault.respond(200, JSON, AUTH_REPLY, rpc_method="User.auth"))
    with _client(td_sandbox, clock) as td:
        token = td.client.token()
    assert (token.access, token.refresh) == ("string", "string")
    assert token.expires_at is None and token.refresh_expires_at is None  # 0: unknown, not expired


def test_the_refresh_reply_gives_the_new_pair(td_sandbox, clock):
    store = MemoryTokenStore()
    store.save(
        Token(access="old", refresh="old-refresh", expires_at=clock.now() - 1, issued_at=clock.now() - 60)
    )
    td_sandbox.faults.add(Fault.respond(200, JSON, REFRESH_REPLY, rpc_method="User.tokenRefresh"))
    with _client(td_sandbox, clock, token_store=store) as td:
        token = td.client.token()  # due: the first request is the refresh, id 1
    assert (token.access, token.refresh, token.expires_at) == ("string", "string", None)
    assert store.load() is token
    assert json.loads(_sent(td_sandbox, "User.tokenRefresh").body)["params"] == {
        "refresh_token": "old-refresh"
    }


def test_the_get_info_reply_gives_the_documented_user(td_sandbox, clock):
    td_sandbox.faults.add(Fault.respond(200, JSON, GET_INFO_REPLY, rpc_method="User.getInfo"))
    with _client(td_sandbox, clock, {"token": "administrator-token"}) as td:
        info = td.user_info()
    assert info.email == "[email protected]"
    assert info.tags == ("Test1_Jul23", "Test2_Jul23")
    assert [(group.id, group.title) for group in info.groups] == [(1, "default")]
    assert info.is_active is False
    assert info.can_call("Report.getCoverageAndInspection") and len(info.methods) == 7
    moscow = dt.timezone(dt.timedelta(hours=3))
    assert info.created_at == dt.datetime(2023, 10, 27, 14, 21, 52, tzinfo=moscow)
    assert info.created_at.utcoffset() == dt.timedelta(hours=3)
    assert "auth_token" not in info.extra  # the administrator's own token is never kept


# -- requests as documented ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("documented", "call"),
    [
        (AUTH_REQUEST, lambda td: td.client.token()),
        (GET_INFO_REQUEST, lambda td: td.user_info()),
    ],
    ids=["User.auth", "User.getInfo"],
)
def test_requests_are_the_documented_ones(td_sandbox, clock, documented, call):
    expected = json.loads(documented)
    credentials = None if expected["method"] == "User.auth" else td_sandbox.emulator.admin_credentials()
    with _client(td_sandbox, clock, credentials) as td:
        call(td)
    sent = _sent(td_sandbox, expected["method"])
    body = sent.json()
    assert shape(body) == shape(expected)  # the same keys, nesting and types: an integer id
    assert {k: body[k] for k in ("jsonrpc", "method", "id")} == {
        k: expected[k] for k in ("jsonrpc", "method", "id")
    }
    assert (sent.method, sent.path, sent.query) == ("POST", "/api/v2/", f"method={expected['method']}")
    assert sent.headers["Content-Type"] == "application/json"


def test_the_refresh_request_is_the_documented_one(td_sandbox, clock):
    store = MemoryTokenStore()
    store.save(Token(access="old", refresh="r", expires_at=clock.now() - 1, issued_at=clock.now() - 60))
    with _client(td_sandbox, clock, token_store=store) as td:
        td.client.token()
    body = _sent(td_sandbox, "User.tokenRefresh").json()
    assert shape(body) == shape(json.loads(REFRESH_REQUEST))
    assert (body["method"], body["id"]) == ("User.tokenRefresh", 1)


def test_a_call_carries_the_curl_examples_headers(td_live, td_sandbox):
    td_live.target_statistics("geo_id", "2023-11-01", "2023-11-30")
    sent = _sent(td_sandbox, "Statistic.getTarget")
    assert sent.headers["Content-Type"] == CURL_HEADERS["Content-Type"]
    assert sent.headers["Authorization"].startswith("Bearer ")
    assert sent.query == CURL_URL.split("?", 1)[1]
    assert tuple(sent.json()) == CURL_BODY_KEYS and type(sent.json()["id"]) is int


# -- a stub JSON-RPC server: envelope variants and the zero expiry -------------------------------


class Stub:
    """Answers ``User.auth`` in the guide's shape (expiries 0) and any other method with
    ``reply(request_id)``; counts what it receives."""

    def __init__(self, reply: Callable[[Any], Dict[str, Any]]) -> None:
        self.reply = reply
        self.calls: List[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
        request = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        with self._lock:
            self.calls.append(request["method"])
        if request["method"] == "User.auth":
            answer: Dict[str, Any] = json.loads(AUTH_REPLY)
            answer["id"] = request["id"]
        else:
            answer = self.reply(request["id"])
        body = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def stub() -> Iterator[Callable[..., Any]]:
    servers: List[SandboxServer] = []

    def start(reply: Callable[[Any], Dict[str, Any]]) -> Any:
        app = Stub(reply)
        server = SandboxServer({"api": app}).start()
        servers.append(server)
        client = integrations.connect(
            "tradingdesk",
            base_urls=server.base_urls,
            credentials={"email": "e@example.com", "password": "p"},
            ids=SequentialIds(),
        )
        return app, client

    yield start
    for server in servers:
        server.stop()


def test_a_zero_expiry_costs_one_login_not_one_per_call(stub):
    app, td = stub(
        lambda rid: {"jsonrpc": "2.0", "result": [{"id": 1, "title": "c", "status": "active"}], "id": rid}
    )
    with td:
        for _ in range(3):
            assert td.campaigns()
    assert app.calls == ["User.auth", "Campaign.getList", "Campaign.getList", "Campaign.getList"]


@pytest.mark.parametrize(
    "envelope",
    [
        lambda rid: {"jsonrpc": "2.0", "result": [], "error": None, "id": rid},  # the guide's prose
        lambda rid: {"jsonrpc": "2.0", "result": [], "id": str(rid)},  # 1 echoed as "1"
    ],
    ids=["error-null", "id-as-string"],
)
def test_success_envelopes_of_the_guides_prose_parse(stub, envelope):
    _, td = stub(envelope)
    with td:
        assert td.campaigns() == ()


@pytest.mark.parametrize(
    ("error", "rpc_code"),
    [
        ({"code": -32005, "message": "Campaign not found"}, -32005),
        (-32005, -32005),  # a bare code
        ("Campaign not found", None),  # a bare message
        ({"code": "NOT_FOUND", "message": "Campaign not found"}, None),  # a code that is no number
    ],
    ids=["object", "bare-code", "bare-message", "text-code"],
)
def test_error_envelopes_of_the_guides_prose_raise_rpc_error(stub, error, rpc_code):
    _, td = stub(lambda rid: {"jsonrpc": "2.0", "result": None, "error": error, "id": rid})
    with td, pytest.raises(RpcError) as info:
        td.campaign(7)
    assert info.value.rpc_code == rpc_code
