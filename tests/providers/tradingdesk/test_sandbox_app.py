"""Tests of the Trading Desk sandbox emulator through its WSGI app (no sockets)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any, Dict, List, Optional, Tuple

import pytest
from werkzeug.test import Client, TestResponse

from integrations.runtime import ManualClock
from integrations.sandbox.emulator import Emulator
from integrations_tradingdesk import sandbox as sandbox_module
from integrations_tradingdesk.sandbox import TradingDeskEmulator

START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
DAY = 86400.0


def make(**options: Any) -> Tuple[TradingDeskEmulator, Client, ManualClock]:
    clock = ManualClock(START)
    emulator = TradingDeskEmulator(clock=clock, **options)
    return emulator, Client(emulator.wsgi_apps()["api"]), clock


def post(
    client: Client,
    body: Any,
    *,
    query_method: Optional[str] = None,
    token: Optional[str] = None,
    raw: bool = False,
    content_type: str = "application/json",
    path: str = "/api/v2/",
) -> TestResponse:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if raw else json.dumps(body)
    query = {"method": query_method} if query_method is not None else None
    return client.post(path, query_string=query, data=data, headers=headers)


def call(
    client: Client,
    method: str,
    params: Any = None,
    *,
    token: Optional[str] = None,
    request_id: Any = 1,
    status: int = 200,
) -> Dict[str, Any]:
    body: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params is not None:
        body["params"] = params
    response = post(client, body, query_method=method, token=token)
    assert response.status_code == status, response.data
    reply: Dict[str, Any] = json.loads(response.data)
    assert reply["jsonrpc"] == "2.0"
    assert reply["id"] == request_id
    assert ("result" in reply) != ("error" in reply)
    return reply


def result(client: Client, method: str, params: Any = None, *, token: Optional[str] = None) -> Any:
    reply = call(client, method, params, token=token)
    assert "result" in reply, reply
    return reply["result"]


def error_code(
    client: Client, method: str, params: Any = None, *, token: Optional[str] = None, status: int = 200
) -> int:
    reply = call(client, method, params, token=token, status=status)
    assert "error" in reply, reply
    assert isinstance(reply["error"]["message"], str)
    code: int = reply["error"]["code"]
    return code


def login(client: Client, credentials: Dict[str, str]) -> Dict[str, Any]:
    pair: Dict[str, Any] = result(client, "User.auth", credentials)
    return pair


# -- JSON-RPC 2.0 conformance (spec section 7, docs/reference/tradingdesk-api.md §4) ------------------------------

PARSE = {"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": None}
INVALID = {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None}

VECTORS: List[Tuple[str, str, Any]] = [
    (
        "positional 1",
        '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
        {"jsonrpc": "2.0", "result": 19, "id": 1},
    ),
    (
        "positional 2",
        '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
        {"jsonrpc": "2.0", "result": -19, "id": 2},
    ),
    (
        "named 1",
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}',
        {"jsonrpc": "2.0", "result": 19, "id": 3},
    ),
    (
        "named 2",
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}',
        {"jsonrpc": "2.0", "result": 19, "id": 4},
    ),
    ("notification", '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}', None),
    ("notification of unknown method", '{"jsonrpc": "2.0", "method": "foobar"}', None),
    (
        "method not found",
        '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
        {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"},
    ),
    ("invalid JSON", '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]', PARSE),
    ("invalid Request object", '{"jsonrpc": "2.0", "method": 1, "params": "bar"}', INVALID),
    (
        "batch, invalid JSON",
        '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]',
        PARSE,
    ),
    ("empty array", "[]", INVALID),
    ("invalid batch, not empty", "[1]", [INVALID]),
    ("invalid batch", "[1,2,3]", [INVALID, INVALID, INVALID]),
    (
        "mixed batch",
        """[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
         {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
         {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
         {"foo": "boo"},
         {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
         {"jsonrpc": "2.0", "method": "get_data", "id": "9"}]""",
        [
            {"jsonrpc": "2.0", "result": 7, "id": "1"},
            {"jsonrpc": "2.0", "result": 19, "id": "2"},
            INVALID,
            {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
            {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"},
        ],
    ),
    (
        "batch of notifications only",
        """[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
         {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]""",
        None,
    ),
]


def _batch_key(replies: List[Dict[str, Any]]) -> Tuple[Dict[Any, Any], List[str]]:
    """Batch replies may come in any order: match by id, and count the id-null entries."""
    by_id = {r["id"]: r for r in replies if r["id"] is not None}
    assert len(by_id) == len([r for r in replies if r["id"] is not None]), "duplicate ids in a batch reply"
    nulls = sorted(json.dumps(r, sort_keys=True) for r in replies if r["id"] is None)
    return by_id, nulls


@pytest.mark.parametrize(("text", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_conformance_vector(text: str, expected: Any) -> None:
    _, client, _ = make()
    response = post(client, text, raw=True)
    if expected is None:
        assert response.status_code == 204
        assert response.data == b""
        return
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.data)
    got = json.loads(response.data)
    if isinstance(expected, list):
        assert isinstance(got, list)
        assert _batch_key(got) == _batch_key(expected)
    else:
        assert got == expected


def test_id_null_is_a_request_not_a_notification() -> None:
    _, client, _ = make()
    response = post(client, {"jsonrpc": "2.0", "method": "get_data", "id": None})
    assert response.status_code == 200
    assert json.loads(response.data) == {"jsonrpc": "2.0", "result": ["hello", 5], "id": None}


def test_failing_notification_inside_a_batch_gets_no_entry() -> None:
    _, client, _ = make()
    body = [
        {"jsonrpc": "2.0", "method": "subtract", "params": ["x"]},
        {"jsonrpc": "2.0", "method": "subtract", "params": ["x"], "id": 7},
    ]
    got = json.loads(post(client, body).data)
    assert [(r["id"], r["error"]["code"]) for r in got] == [(7, -32602)]


@pytest.mark.parametrize(
    "bad",
    [
        {"jsonrpc": "1.0", "method": "sum", "id": 1},
        {"method": "sum", "id": 1},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "method": "sum", "params": "bar", "id": 1},
        {"jsonrpc": "2.0", "method": "sum", "id": True},
        {"jsonrpc": "2.0", "method": "sum", "id": {"a": 1}},
        "a string",
        42,
    ],
)
def test_invalid_request_objects(bad: Any) -> None:
    _, client, _ = make()
    got = json.loads(post(client, bad).data)
    assert got["error"]["code"] == -32600
    assert "result" not in got


def test_invalid_request_echoes_a_well_typed_id() -> None:
    _, client, _ = make()
    got = json.loads(post(client, {"jsonrpc": "2.0", "method": 1, "id": "abc"}).data)
    assert (got["id"], got["error"]["code"]) == ("abc", -32600)


# The client sends integer ids, as the guide's examples do ("id": 1); any legal id comes back unchanged.
ECHOED_IDS = [1, 0, -7, 2**53 + 1, 2**80, 1.5, "1", "", "abc", "\u0438\u0434", None]


@pytest.mark.parametrize("request_id", ECHOED_IDS, ids=repr)
def test_ids_are_echoed_with_their_own_type(request_id: Any) -> None:
    emulator, client, _ = make()
    for method, params in (("get_data", None), ("User.auth", emulator.credentials()), ("User.getInfo", {})):
        body: Dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            body["params"] = params
        reply = json.loads(post(client, body, query_method=method).data)  # User.getInfo: an error reply
        assert reply["id"] == request_id
        assert type(reply["id"]) is type(request_id)
    text = post(client, {"jsonrpc": "2.0", "method": "get_data", "id": request_id}).data.decode()
    assert f'"id":{json.dumps(request_id)}'.replace("/", "\\/") in text


def test_an_int_id_and_a_string_id_stay_apart_in_a_batch() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    body = [
        {"jsonrpc": "2.0", "method": "subtract", "params": [5, 3], "id": 1},
        {"jsonrpc": "2.0", "method": "subtract", "params": [9, 3], "id": "1"},
        {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": 2},
        {"jsonrpc": "2.0", "method": "nope", "id": "2"},
    ]
    replies = json.loads(post(client, body, token=token).data)
    typed = {(type(r["id"]).__name__, r["id"]): r for r in replies}
    assert set(typed) == {("int", 1), ("str", "1"), ("int", 2), ("str", "2")}
    assert typed[("int", 1)]["result"] == 2
    assert typed[("str", "1")]["result"] == 6
    assert typed[("int", 2)]["result"]["email"] == emulator.credentials()["email"]
    assert typed[("str", "2")]["error"]["code"] == -32601


def test_a_non_finite_number_is_not_an_id_and_never_leaves_as_infinity() -> None:
    _, client, _ = make()
    got = json.loads(post(client, '{"jsonrpc": "2.0", "method": "get_data", "id": 1e400}', raw=True).data)
    assert (got["id"], got["error"]["code"]) == (None, -32600)
    overflow = post(client, {"jsonrpc": "2.0", "method": "sum", "params": [1e308, 1e308], "id": 3})
    assert b"Infinity" not in overflow.data
    assert json.loads(overflow.data)["error"]["code"] == -32602
    huge = post(client, '{"jsonrpc": "2.0", "method": "sum", "params": [1e400], "id": 4}', raw=True)
    assert json.loads(huge.data)["error"]["code"] == -32602


@pytest.mark.parametrize(
    "text",
    [
        "",
        "NaN",
        '{"jsonrpc": "2.0", "method": "sum", "params": [Infinity], "id": 1}',
        b"\xff\xfe",
    ],
)
def test_parse_errors(text: Any) -> None:
    _, client, _ = make()
    got = json.loads(post(client, text, raw=True).data)
    assert got == PARSE


@pytest.mark.parametrize("params", [None, {}, []])
def test_absent_empty_object_and_empty_array_mean_no_params(params: Any) -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    assert result(client, "sum", params) == 0
    assert result(client, "User.getInfo", params, token=token)["email"] == emulator.credentials()["email"]


def test_positional_params_for_a_trading_desk_method_are_invalid() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    assert error_code(client, "Campaign.getInfo", [1], token=token) == -32602


def test_spec_method_param_errors() -> None:
    _, client, _ = make()
    assert error_code(client, "subtract", [1]) == -32602
    assert error_code(client, "subtract", {"minuend": 1}) == -32602
    assert error_code(client, "subtract", ["a", 1]) == -32602
    assert error_code(client, "sum", {"a": 1}) == -32602
    assert result(client, "sum", [1.5, 2]) == 3.5


# -- HTTP transport -----------------------------------------------------------------------------


def test_transport_rules() -> None:
    _, client, _ = make()
    sub = {"jsonrpc": "2.0", "method": "subtract", "params": [5, 3], "id": 1}
    get = client.get("/api/v2/?method=subtract")
    assert get.status_code == 405
    assert get.headers["Allow"] == "POST"
    assert post(client, sub, path="/elsewhere").status_code == 404
    assert json.loads(post(client, sub, path="/api/v2").data)["result"] == 2
    # The body is parsed whatever the declared content type.
    assert json.loads(post(client, sub, content_type="text/plain").data)["result"] == 2


def test_emulator_protocol() -> None:
    emulator, _, _ = make()
    assert isinstance(emulator, Emulator)
    assert set(emulator.wsgi_apps()) == {"api"}


def test_constructor_validates_options() -> None:
    with pytest.raises(ValueError, match="expiry_format"):
        TradingDeskEmulator(expiry_format="iso")
    with pytest.raises(ValueError, match="positive"):
        TradingDeskEmulator(access_token_ttl=0)


# -- users and tokens ---------------------------------------------------------------------------


GET_INFO_KEYS = ["email", "auth_token", "tags", "groups", "methods", "isActive", "date_create"]


def test_auth_and_get_info() -> None:
    emulator, client, _ = make()
    assert emulator.auth_count == 0
    pair = login(client, emulator.credentials())
    assert emulator.auth_count == 1
    assert list(pair) == ["access_token", "refresh_token", "expire_access_token", "expire_refresh_token"]
    assert pair["access_token"] != pair["refresh_token"]
    assert len(pair["access_token"]) == 40
    int(pair["access_token"], 16)
    assert type(pair["expire_access_token"]) is int and type(pair["expire_refresh_token"]) is int
    info = result(client, "User.getInfo", {}, token=pair["access_token"])
    # The guide's keys, in the guide's order, and nothing else.
    assert list(info) == GET_INFO_KEYS
    assert info["email"] == emulator.credentials()["email"]
    assert info["isActive"] is True
    assert info["tags"] == [{"title": "Test1_Jul23"}, {"title": "Test2_Jul23"}]
    assert info["groups"] == [{"id": 1, "title": "default"}]
    assert info["methods"] == [
        "User.auth",
        "User.tokenRefresh",
        "Campaign.getList",
        "Campaign.getInfo",
        "Partner.getClients",
        "Report.getCoverageAndInspection",
        "User.getInfo",
        "Statistic.getTarget",
    ]
    assert info["date_create"] == {
        "date": "2023-10-27 14:21:52.000000",
        "timezone_type": 3,
        "timezone": "Europe/Moscow",
    }
    # The default user also holds an administrator-issued token, distinct from the pair and the
    # administrator account's.
    assert isinstance(info["auth_token"], str) and len(info["auth_token"]) == 40
    assert info["auth_token"] not in (pair["access_token"], pair["refresh_token"])
    assert info["auth_token"] != emulator.admin_credentials()["token"]


def test_get_info_is_written_as_php_writes_it() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    body = {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": 1}
    text = post(client, body, query_method="User.getInfo", token=token).data.decode()
    assert '"isActive":true' in text
    assert '"timezone":"Europe\\/Moscow"' in text
    assert '"id":1,"result":{"email":' in text


def test_the_default_users_administrator_token_is_a_bearer_token() -> None:
    emulator, client, clock = make()
    pair = login(client, emulator.credentials())
    issued = result(client, "User.getInfo", {}, token=pair["access_token"])["auth_token"]
    info = result(client, "User.getInfo", {}, token=issued)
    assert info["email"] == emulator.credentials()["email"]
    assert info["auth_token"] == issued
    # Both tokens work at once, as the guide allows; the administrator's cannot be refreshed.
    assert result(client, "Campaign.getList", {}, token=pair["access_token"])
    assert error_code(client, "User.tokenRefresh", {"refresh_token": issued}) == -32002
    # Revoking the administrator account's token leaves this one alone.
    emulator.revoke_admin_token()
    assert result(client, "Campaign.getList", {}, token=issued)
    clock.advance(90 * DAY)
    assert error_code(client, "Campaign.getList", {}, token=issued) == -32001


def test_a_user_without_an_administrator_token_gets_auth_token_null() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.restricted_credentials())["access_token"]
    reply = post(client, {"jsonrpc": "2.0", "method": "User.getInfo", "params": {}, "id": 1}, token=token)
    assert '"auth_token":null' in reply.data.decode()
    info = json.loads(reply.data)["result"]
    assert list(info) == GET_INFO_KEYS
    assert info["auth_token"] is None
    assert info["tags"] == [{"title": "Test1_Jul23"}]
    assert info["groups"] == [{"id": 1, "title": "default"}]
    assert info["isActive"] is True
    assert info["date_create"]["timezone_type"] == 3


def test_method_names_are_case_sensitive() -> None:
    _, client, _ = make()
    # The guide's prose once writes "user.tokenRefresh"; every example writes User.tokenRefresh.
    assert error_code(client, "user.tokenRefresh", {"refresh_token": "x"}) == -32601


def test_assumptions_table() -> None:
    assert len(sandbox_module.ASSUMPTIONS) >= 10
    for row in sandbox_module.ASSUMPTIONS:
        assert len(row) == 3 and all(cell and "|" not in cell and "\n" not in cell for cell in row)
    situations = [row[0] for row in sandbox_module.ASSUMPTIONS]
    assert len(set(situations)) == len(situations)
    table = sandbox_module.assumptions_markdown()
    assert table.startswith("| Situation | What the sandbox does | Source |\n|---|---|---|\n")
    assert table.count("\n") == len(sandbox_module.ASSUMPTIONS) + 2
    assert "auth_token" in table and "assumption" in table


def test_auth_failures() -> None:
    emulator, client, _ = make()
    creds = emulator.credentials()
    assert error_code(client, "User.auth", {"email": creds["email"], "password": "wrong"}) == -32004
    stranger = {"email": "nobody@example.test", "password": creds["password"]}
    assert error_code(client, "User.auth", stranger) == -32004
    assert error_code(client, "User.auth", {"email": creds["email"]}) == -32602
    assert error_code(client, "User.auth", {}) == -32602
    assert error_code(client, "User.auth", {"email": 1, "password": 2}) == -32602
    assert emulator.auth_count == 0


def test_private_methods_need_a_valid_access_token() -> None:
    emulator, client, _ = make()
    pair = login(client, emulator.credentials())
    assert call(client, "Campaign.getList", {})["error"]["message"] == "Unauthorized"
    assert error_code(client, "Campaign.getList", {}, token="0" * 40) == -32001
    # A refresh token is not an access token.
    assert error_code(client, "Campaign.getList", {}, token=pair["refresh_token"]) == -32001
    body = json.dumps({"jsonrpc": "2.0", "method": "Campaign.getList", "id": 1})
    basic = client.post("/api/v2/", data=body, headers={"Authorization": "Basic " + pair["access_token"]})
    assert json.loads(basic.data)["error"]["code"] == -32001
    assert isinstance(result(client, "Campaign.getList", {}, token=pair["access_token"]), list)


def test_token_refresh_rotates_the_pair() -> None:
    emulator, client, _ = make()
    old = login(client, emulator.credentials())
    new = result(client, "User.tokenRefresh", {"refresh_token": old["refresh_token"]})
    assert emulator.refresh_count == 1
    assert set(new) == set(old)
    assert new["access_token"] not in (old["access_token"], old["refresh_token"])
    assert new["refresh_token"] not in (old["access_token"], old["refresh_token"])
    assert error_code(client, "User.tokenRefresh", {"refresh_token": old["refresh_token"]}) == -32002
    assert error_code(client, "User.getInfo", {}, token=old["access_token"]) == -32001
    info = result(client, "User.getInfo", {}, token=new["access_token"])
    assert info["email"] == emulator.credentials()["email"]
    newer = result(client, "User.tokenRefresh", {"refresh_token": new["refresh_token"]})
    assert result(client, "Campaign.getList", {}, token=newer["access_token"])
    assert emulator.refresh_count == 2
    assert error_code(client, "User.tokenRefresh", {}) == -32602
    assert error_code(client, "User.tokenRefresh", {"refresh_token": "nope"}) == -32002
    assert error_code(client, "User.tokenRefresh", {"refresh_token": newer["access_token"]}) == -32002
    assert emulator.refresh_count == 2


def test_rotation_of_one_session_leaves_another_alone() -> None:
    emulator, client, _ = make()
    first = login(client, emulator.credentials())
    second = login(client, emulator.credentials())
    result(client, "User.tokenRefresh", {"refresh_token": first["refresh_token"]})
    assert result(client, "User.getInfo", {}, token=second["access_token"])["email"]


def test_concurrent_refresh_of_one_token_succeeds_once() -> None:
    emulator, client, _ = make()
    refresh = login(client, emulator.credentials())["refresh_token"]
    codes: List[Any] = []
    lock = threading.Lock()

    def worker() -> None:
        reply = call(Client(emulator.wsgi_apps()["api"]), "User.tokenRefresh", {"refresh_token": refresh})
        with lock:
            codes.append(reply["error"]["code"] if "error" in reply else "ok")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes, key=str) == sorted(["ok"] + [-32002] * 7, key=str)
    assert emulator.refresh_count == 1


def test_access_token_expiry_follows_the_clock() -> None:
    emulator, client, clock = make(access_token_ttl=3600, refresh_token_ttl=7200)
    pair = login(client, emulator.credentials())
    clock.advance(3599)
    assert result(client, "User.getInfo", {}, token=pair["access_token"])
    clock.advance(1)
    assert error_code(client, "User.getInfo", {}, token=pair["access_token"]) == -32001
    new = result(client, "User.tokenRefresh", {"refresh_token": pair["refresh_token"]})
    assert result(client, "User.getInfo", {}, token=new["access_token"])
    clock.advance(7200)
    assert error_code(client, "User.tokenRefresh", {"refresh_token": new["refresh_token"]}) == -32002


def test_default_lifetimes_are_seven_and_sixty_days() -> None:
    emulator, client, clock = make()
    pair = login(client, emulator.credentials())
    assert pair["expire_access_token"] == int(START + 7 * DAY)
    assert pair["expire_refresh_token"] == int(START + 60 * DAY)
    clock.advance(7 * DAY + 1)
    assert error_code(client, "User.getInfo", {}, token=pair["access_token"]) == -32001


def test_auth_errors_as_http_401() -> None:
    emulator, client, _ = make(auth_errors_as_http_401=True)
    assert error_code(client, "User.getInfo", {}, status=401) == -32001
    missing = post(client, {"jsonrpc": "2.0", "method": "User.getInfo", "id": 1})
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.headers["Content-Type"] == "application/json"
    assert error_code(client, "User.tokenRefresh", {"refresh_token": "x"}, status=401) == -32002
    # Other errors and successes keep HTTP 200.
    assert error_code(client, "User.auth", {"email": "a", "password": "b"}, status=200) == -32004
    token = login(client, emulator.credentials())["access_token"]
    assert result(client, "User.getInfo", {}, token=token)
    # A batch reply is always 200: its members may differ.
    batch = post(
        client,
        [
            {"jsonrpc": "2.0", "method": "User.getInfo", "id": 1},
            {"jsonrpc": "2.0", "method": "get_data", "id": 2},
        ],
    )
    assert batch.status_code == 200
    assert {r["id"]: r.get("error", {}).get("code") for r in json.loads(batch.data)} == {1: -32001, 2: None}


def test_auth_errors_are_http_200_by_default() -> None:
    _, client, _ = make()
    assert error_code(client, "User.getInfo", {}, status=200) == -32001
    assert error_code(client, "User.tokenRefresh", {"refresh_token": "x"}, status=200) == -32002


def test_http_status_mapping() -> None:
    _, client, _ = make(http_status_mapping=True)
    assert post(client, "{", raw=True).status_code == 500
    assert post(client, {"jsonrpc": "2.0", "id": 1}).status_code == 400
    assert error_code(client, "nope", {}, status=404) == -32601
    assert error_code(client, "subtract", [1], status=500) == -32602
    assert error_code(client, "User.getInfo", {}, status=500) == -32001
    assert result(client, "subtract", [3, 1]) == 2
    assert post(client, [1]).status_code == 200
    assert post(client, {"jsonrpc": "2.0", "method": "update"}).status_code == 204
    default_client = make()[1]
    assert post(default_client, "{", raw=True).status_code == 200


def test_strict_query_method() -> None:
    _, client, _ = make(strict_query_method=True)
    body = {"jsonrpc": "2.0", "method": "subtract", "params": [3, 1], "id": 5}
    assert json.loads(post(client, body, query_method="subtract").data)["result"] == 2
    mismatch = json.loads(post(client, body, query_method="sum").data)
    assert (mismatch["id"], mismatch["error"]["code"]) == (5, -32600)
    assert json.loads(post(client, body).data)["error"]["code"] == -32600
    # ?method= cannot describe a batch, so batches are not checked.
    assert json.loads(post(client, [body], query_method="sum").data)[0]["result"] == 2
    lenient = make()[1]
    assert json.loads(post(lenient, body, query_method="sum").data)["result"] == 2


@pytest.mark.parametrize(
    ("fmt", "access", "refresh"),
    [
        ("epoch", int(START + 7 * DAY), int(START + 60 * DAY)),
        ("epoch_ms", int((START + 7 * DAY) * 1000), int((START + 60 * DAY) * 1000)),
        ("lifetime", 604800, 5184000),
        ("date", "2023-11-21 22:13:20", "2024-01-13 22:13:20"),
        (
            "php",
            {"date": "2023-11-22 01:13:20.000000", "timezone_type": 3, "timezone": "Europe/Moscow"},
            {"date": "2024-01-14 01:13:20.000000", "timezone_type": 3, "timezone": "Europe/Moscow"},
        ),
        ("zero", 0, 0),
    ],
)
def test_expiry_formats(fmt: str, access: Any, refresh: Any) -> None:
    emulator, client, _ = make(expiry_format=fmt)
    pair = login(client, emulator.credentials())
    assert pair["expire_access_token"] == access
    assert pair["expire_refresh_token"] == refresh
    assert type(pair["expire_access_token"]) is type(access)
    refreshed = result(client, "User.tokenRefresh", {"refresh_token": pair["refresh_token"]})
    assert refreshed["expire_access_token"] == access
    assert type(refreshed["expire_refresh_token"]) is type(refresh)


def test_zero_expiries_still_expire_after_the_lifetimes() -> None:
    emulator, client, clock = make(expiry_format="zero", access_token_ttl=3600)
    pair = login(client, emulator.credentials())
    assert (pair["expire_access_token"], pair["expire_refresh_token"]) == (0, 0)
    assert result(client, "User.getInfo", {}, token=pair["access_token"])
    clock.advance(3600)
    assert error_code(client, "User.getInfo", {}, token=pair["access_token"]) == -32001


def test_expiry_date_is_utc() -> None:
    emulator, client, _ = make(expiry_format="date")
    text = login(client, emulator.credentials())["expire_access_token"]
    parsed = dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    assert parsed.timestamp() == int(START + 7 * DAY)


def test_admin_token() -> None:
    emulator, client, clock = make()
    admin = emulator.admin_credentials()["token"]
    info = result(client, "User.getInfo", {}, token=admin)
    assert list(info) == GET_INFO_KEYS
    assert info["auth_token"] == admin
    assert info["date_create"] == {
        "date": "2023-05-15 09:30:00.000000",
        "timezone_type": 3,
        "timezone": "Europe/Moscow",
    }
    assert {"id": 1, "title": "default"} in info["groups"]
    assert result(client, "Partner.getClients", {}, token=admin)
    assert error_code(client, "User.tokenRefresh", {"refresh_token": admin}) == -32002
    assert error_code(client, "User.auth", {"email": info["email"], "password": ""}) == -32004
    clock.advance(89 * DAY)
    assert result(client, "Campaign.getList", {}, token=admin)
    emulator.revoke_admin_token()
    assert error_code(client, "Campaign.getList", {}, token=admin) == -32001


def test_admin_token_expires_after_ninety_days() -> None:
    emulator, client, clock = make()
    admin = emulator.admin_credentials()["token"]
    clock.advance(90 * DAY)
    assert error_code(client, "User.getInfo", {}, token=admin) == -32001


def test_restricted_user_is_denied_partner_clients() -> None:
    emulator, client, _ = make()
    creds = emulator.restricted_credentials()
    assert creds["email"] != emulator.credentials()["email"]
    token = login(client, creds)["access_token"]
    info = result(client, "User.getInfo", {}, token=token)
    assert "Partner.getClients" not in info["methods"]
    assert "Campaign.getList" in info["methods"]
    denied = call(client, "Partner.getClients", {}, token=token)["error"]
    assert (denied["code"], denied["message"]) == (-32003, "Access denied")
    assert result(client, "Campaign.getList", {}, token=token)
    default = login(client, emulator.credentials())["access_token"]
    clients = result(client, "Partner.getClients", {}, token=default)
    assert clients
    assert all(set(c) == {"id", "title", "email"} for c in clients)


# -- campaigns ------------------------------------------------------------------------------------


def test_campaign_list_and_info() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    campaigns = result(client, "Campaign.getList", {}, token=token)
    assert len(campaigns) >= 4
    titles = [c["title"] for c in campaigns]
    assert any("Video" in t for t in titles)
    assert any("Banners" in t for t in titles)
    for campaign in campaigns:
        assert set(campaign) == {"id", "title", "status"}
        assert isinstance(campaign["id"], int)
        assert result(client, "Campaign.getInfo", {"id": campaign["id"]}, token=token) == campaign
    first = campaigns[0]
    assert result(client, "Campaign.getInfo", {"id": str(first["id"])}, token=token) == first
    unknown = call(client, "Campaign.getInfo", {"id": 1}, token=token)
    assert unknown["error"]["code"] == -32005
    assert unknown["error"]["data"] == {"id": 1}
    for bad in ({}, {"id": "abc"}, {"id": True}, {"id": None}, {"id": 1.5}):
        assert error_code(client, "Campaign.getInfo", bad, token=token) == -32602


# -- statistics -----------------------------------------------------------------------------------


def _has_at_most_3_decimals(value: Any) -> bool:
    return isinstance(value, int) or round(value, 3) == value


def _check_rounded_metrics(row: Dict[str, Any]) -> None:
    show, click, spent = row["show"], row["click"], row["spent"]
    assert isinstance(show, int)
    assert isinstance(click, int)
    assert show > 0
    for key in ("cpc", "cpm", "ctr", "spent"):
        assert _has_at_most_3_decimals(row[key]), (key, row[key])
    # spent itself is rounded, hence the small tolerance on the derived metrics.
    assert row["ctr"] == pytest.approx(click / show * 100, abs=5e-4)
    assert row["cpm"] == pytest.approx(spent / show * 1000, abs=1e-3)
    if click:
        assert row["cpc"] == pytest.approx(spent / click, abs=1e-3)
    else:
        assert row["cpc"] == 0


def test_coverage_report_whole_lifetime() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    report = result(client, "Report.getCoverageAndInspection", {}, token=token)
    titles = {c["title"] for c in result(client, "Campaign.getList", {}, token=token)}
    assert report
    assert set(report) <= titles
    assert set(report) != titles  # the draft campaign never ran
    for title, row in report.items():
        _check_rounded_metrics(row)
        assert 0 < row["UniqueImps"] <= row["show"]
        quartiles = [row.get(f"quartile_{q}") for q in (25, 50, 75, 100)]
        if "Video" in title:
            assert row["show"] >= quartiles[0] >= quartiles[1] >= quartiles[2] >= quartiles[3] > 0
        else:
            assert quartiles == [None] * 4
    assert report == result(client, "Report.getCoverageAndInspection", None, token=token)


def test_coverage_report_period_is_inclusive_and_additive() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    whole = result(client, "Report.getCoverageAndInspection", {}, token=token)
    parts = [
        result(client, "Report.getCoverageAndInspection", {"period": {"from": a, "to": b}}, token=token)
        for a, b in (("2023-06-01", "2023-08-31"), ("2023-09-01", "2023-09-01"), ("2023-09-02", "2023-12-31"))
    ]
    for title, row in whole.items():
        for key in ("show", "click", "UniqueImps"):
            assert sum(p[title][key] for p in parts if isinstance(p, dict) and title in p) == row[key]
    for part in parts:
        if isinstance(part, dict):
            for row in part.values():
                _check_rounded_metrics(row)
    one_day = result(
        client,
        "Report.getCoverageAndInspection",
        {"period": {"from": "2023-10-29", "to": "2023-10-29"}},
        token=token,
    )
    assert one_day
    assert all(row["show"] < 100000 for row in one_day.values())


@pytest.mark.parametrize("method", ["Report.getCoverageAndInspection", "Statistic.getTarget"])
def test_empty_period_gives_php_empty_array(method: str) -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    params: Dict[str, Any] = {"period": {"from": "2022-01-01", "to": "2022-12-31"}}
    if method == "Statistic.getTarget":
        params["targetName"] = "geo_id"
    assert result(client, method, params, token=token) == []


@pytest.mark.parametrize(
    "period",
    [
        {"from": "2023-10-01"},
        {"from": "2023/10/01", "to": "2023-10-02"},
        {"from": "2023-02-30", "to": "2023-03-01"},
        {"from": "2023-10-02", "to": "2023-10-01"},
        {"from": 20231001, "to": "2023-10-02"},
        "2023-10-01",
        ["2023-10-01", "2023-10-02"],
    ],
)
@pytest.mark.parametrize("method", ["Report.getCoverageAndInspection", "Statistic.getTarget"])
def test_bad_period_is_invalid_params(method: str, period: Any) -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    params: Dict[str, Any] = {"period": period}
    if method == "Statistic.getTarget":
        params["targetName"] = "geo_id"
    assert error_code(client, method, params, token=token) == -32602


def test_target_statistics_tree() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    period = {"from": "2023-10-29", "to": "2023-10-29"}
    tree = result(client, "Statistic.getTarget", {"targetName": "geo_id", "period": period}, token=token)
    russia = tree["Europe"]["Russia"]
    assert set(russia["Orenburg Oblast"]) == {"Orenburg", "Orsk", "total"}
    assert set(russia["St.-Petersburg"]) - {"total"} == {"Saint Petersburg", "Kolpino", "Pushkin", "Shushary"}
    shushary = russia["St.-Petersburg"]["Shushary"]
    assert shushary["click"] == 0
    assert shushary["cpc"] == 0
    regions = [
        region for continent in tree.values() for country in continent.values() for region in country.values()
    ]
    assert len(regions) >= 4
    for region in regions:
        total = region["total"]
        cities = [m for name, m in region.items() if name != "total"]
        assert cities
        _check_rounded_metrics(total)
        assert total["show"] == sum(c["show"] for c in cities)
        assert total["click"] == sum(c["click"] for c in cities)
        assert total["spent"] == pytest.approx(sum(c["spent"] for c in cities), abs=5e-4)
        for city in cities:
            # Leaves are not rounded, so the formulas hold to float precision.
            assert isinstance(city["spent"], float)
            assert city["ctr"] == pytest.approx(city["click"] / city["show"] * 100, rel=1e-12)
            assert city["cpm"] == pytest.approx(city["spent"] / city["show"] * 1000, rel=1e-12)
            expected_cpc = city["spent"] / city["click"] if city["click"] else 0
            assert city["cpc"] == pytest.approx(expected_cpc, rel=1e-12)


def test_target_statistics_period_optional_and_validated() -> None:
    emulator, client, _ = make()
    token = login(client, emulator.credentials())["access_token"]
    whole = result(client, "Statistic.getTarget", {"targetName": "geo_id"}, token=token)
    # Orsk only reports from September, so a June period leaves Orenburg alone in its region.
    june = result(
        client,
        "Statistic.getTarget",
        {"targetName": "geo_id", "period": {"from": "2023-06-01", "to": "2023-06-30"}},
        token=token,
    )
    assert set(june["Europe"]["Russia"]["Orenburg Oblast"]) == {"Orenburg", "total"}
    orenburg = whole["Europe"]["Russia"]["Orenburg Oblast"]["Orenburg"]
    assert orenburg["show"] > june["Europe"]["Russia"]["Orenburg Oblast"]["Orenburg"]["show"]
    assert error_code(client, "Statistic.getTarget", {}, token=token) == -32602
    assert error_code(client, "Statistic.getTarget", {"targetName": ""}, token=token) == -32602
    assert error_code(client, "Statistic.getTarget", {"targetName": "os_id"}, token=token) == -32602


# -- determinism ----------------------------------------------------------------------------------


def _session_transcript(seed: int) -> List[bytes]:
    emulator, client, _ = make(seed=seed)
    out = []
    auth = post(client, {"jsonrpc": "2.0", "method": "User.auth", "params": emulator.credentials(), "id": 1})
    out.append(auth.data)
    pair = json.loads(auth.data)["result"]
    for method, params in (
        ("User.getInfo", {}),
        ("Campaign.getList", {}),
        ("Partner.getClients", {}),
        ("Report.getCoverageAndInspection", {}),
        ("Statistic.getTarget", {"targetName": "geo_id"}),
    ):
        out.append(
            post(
                client,
                {"jsonrpc": "2.0", "method": method, "params": params, "id": 2},
                token=pair["access_token"],
            ).data
        )
    out.append(
        post(
            client,
            {
                "jsonrpc": "2.0",
                "method": "User.tokenRefresh",
                "params": {"refresh_token": pair["refresh_token"]},
                "id": 3,
            },
        ).data
    )
    out.append(json.dumps(emulator.admin_credentials()).encode())
    return out


def test_same_seed_same_responses() -> None:
    first, second, other = _session_transcript(7), _session_transcript(7), _session_transcript(8)
    assert first == second
    assert all(b'"result"' in reply for reply in first[:-1])
    assert first[0] != other[0]  # tokens differ
    assert first[4] != other[4]  # report data differ
