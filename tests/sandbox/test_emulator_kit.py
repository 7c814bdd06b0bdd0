"""The emulator kit, against live servers on 127.0.0.1: :class:`JsonApp` (routing, 404/405, body
draining on keep-alive connections, bad JSON, Bearer checks, :class:`JsonError`) and the standard
test controls (:class:`EmulatorControls`) of both built-in emulators."""

from __future__ import annotations

import http.client
import io
import json
import re
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

import integrations
from integrations import AuthenticationError, PluginError, sandbox
from integrations.sandbox import (
    Counts,
    EmulatorControls,
    Fault,
    JsonApp,
    JsonError,
    JsonRequest,
    Reply,
    SandboxServer,
    controls,
    route,
)

# -- a JsonApp of our own ------------------------------------------------------------------------------


class ShopApp(JsonApp):
    def __init__(self) -> None:
        super().__init__()
        self.seen: List[Tuple[str, Dict[str, str], Any]] = []

    @route("GET", "/items/{item}")
    def get_item(self, request: JsonRequest) -> Reply:
        return self.json(200, {"item": request.params["item"], "query": request.query})

    @route("POST", "/items")
    def add_item(self, request: JsonRequest) -> Reply:
        return self.json(201, {"added": request.json()})

    @route("DELETE", "/items/{item:[0-9]+}")
    def delete_item(self, request: JsonRequest) -> Reply:
        if request.params["item"] == "0":
            raise JsonError(409, {"message": "item 0 is forever"}, headers=[("X-Reason", "zero")])
        raise JsonError(204 if request.params["item"] == "1" else 410)

    @route("POST", "/ping")
    def ping(self, request: JsonRequest) -> Reply:  # ignores its body
        return Reply(200, b"pong", "text/plain")

    @route("GET", "/me", auth=True)
    def me(self, request: JsonRequest) -> Reply:
        return self.json(200, {"user": request.principal})

    def check_bearer(self, token: str) -> Optional[str]:
        return {"tok-a": "alice"}.get(token)


class PoliteShop(ShopApp):
    ignore_case = True

    def not_found(self, request: JsonRequest) -> Reply:
        return self.json(404, {"message": f"no {request.path}"})

    def method_not_allowed(self, request: JsonRequest, allowed: List[str]) -> Reply:
        return self.json(405, {"allowed": allowed}, [("Allow", ", ".join(allowed))])

    def unauthorized(self, request: JsonRequest) -> Reply:
        return self.json(401, {"message": "who are you"}, [("WWW-Authenticate", "Bearer")])

    def bad_json(self, request: JsonRequest) -> JsonError:
        return JsonError(422, {"message": "not JSON"})


class Conn:
    """One keep-alive HTTP/1.1 connection to a live server."""

    def __init__(self, server: SandboxServer) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=5)

    def __call__(
        self, method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None
    ) -> Tuple[int, Dict[str, str], bytes]:
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()


@pytest.fixture
def shop() -> Iterator[Tuple[SandboxServer, Conn]]:
    with SandboxServer({"shop": ShopApp(), "polite": PoliteShop()}) as server:
        conn = Conn(server)
        yield server, conn
        conn.conn.close()


def test_routes_pass_segments_query_and_json_to_the_handler(shop: Any) -> None:
    _, call = shop
    status, headers, body = call("GET", "/shop/items/pen?color=red&color=blue&empty=")
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {"item": "pen", "query": {"color": "red", "empty": ""}}
    assert call("GET", "/shop/items/pen/")[0] == 200  # leading and trailing slashes do not matter
    status, _, body = call("POST", "/shop/items", json.dumps({"name": "ink"}).encode())
    assert (status, json.loads(body)) == (201, {"added": {"name": "ink"}})


def test_unknown_paths_are_404_and_known_paths_with_another_method_405(shop: Any) -> None:
    _, call = shop
    assert call("GET", "/shop/nothing")[:3:2] == (404, b"")
    assert call("GET", "/shop/Items/pen")[0] == 404  # case-sensitive unless ignore_case
    assert call("PUT", "/shop/items/pen", b"{}")[:3:2] == (405, b"")
    assert call("DELETE", "/shop/items/pen")[0] == 405  # the {item:[0-9]+} route does not match
    status, headers, body = call("PUT", "/polite/ITEMS/7", b"{}")
    assert (status, json.loads(body), headers["Allow"]) == (
        405,
        {"allowed": ["GET", "DELETE"]},
        "GET, DELETE",
    )
    assert call("GET", "/polite/nothing/here")[::2] == (404, b'{"message":"no nothing/here"}')


def test_bad_json_is_a_400_or_the_apps_own_answer(shop: Any) -> None:
    _, call = shop
    status, _, body = call("POST", "/shop/items", b'{"name": ')
    assert (status, json.loads(body)) == (400, {"message": "Request body is not valid JSON"})
    assert call("POST", "/shop/items", b"\xff\xfe\x00")[0] == 400
    assert call("POST", "/polite/items", b"nope")[::2] == (422, b'{"message":"not JSON"}')


def test_bearer_is_checked_before_the_handler(shop: Any) -> None:
    _, call = shop
    assert call("GET", "/shop/me")[::2] == (401, b"")
    assert call("GET", "/shop/me", headers={"Authorization": "Basic tok-a"})[0] == 401
    assert call("GET", "/shop/me", headers={"Authorization": "Bearer "})[0] == 401
    assert call("GET", "/shop/me", headers={"Authorization": "Bearer tok-b"})[0] == 401
    status, _, body = call("GET", "/shop/me", headers={"Authorization": "bearer  tok-a "})
    assert (status, json.loads(body)) == (200, {"user": "alice"})
    status, headers, body = call("GET", "/polite/me")
    assert (status, headers["WWW-Authenticate"], json.loads(body)) == (
        401,
        "Bearer",
        {"message": "who are you"},
    )


def test_a_raised_json_error_is_the_answer(shop: Any) -> None:
    _, call = shop
    status, headers, body = call("DELETE", "/shop/items/0")
    assert (status, headers["X-Reason"], json.loads(body)) == (409, "zero", {"message": "item 0 is forever"})
    status, headers, body = call("DELETE", "/shop/items/1")
    assert (status, body) == (204, b"")
    assert "Content-Length" not in headers and "Content-Type" not in headers
    status, headers, body = call("DELETE", "/shop/items/2")
    assert (status, headers["Content-Length"], body) == (410, "0", b"")


def test_a_keep_alive_connection_stays_in_sync_whatever_the_first_answer(shop: Any) -> None:
    server, call = shop
    big = b"x" * 100_000
    for method, path in [("POST", "/shop/ping"), ("POST", "/shop/nowhere"), ("PUT", "/shop/items/1")]:
        first = call(method, path, big, {"Authorization": "Bearer tok-a"})
        assert first[0] in (200, 404, 405)
        status, _, body = call("GET", "/shop/items/next")
        assert (status, json.loads(body)["item"]) == (200, "next")
    assert call("POST", "/shop/me", big)[0] == 405
    assert call("GET", "/shop/me", big)[0] == 401
    assert call("GET", "/shop/items/last")[0] == 200
    connections = {r.connection for r in server.requests()}
    assert len(connections) == 1  # every request on the one connection


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/ping", {}),  # the handler ignores the body
        ("POST", "/nowhere", {}),  # 404
        ("PUT", "/items/1", {}),  # 405
        ("GET", "/me", {}),  # 401
        ("GET", "/me", {"HTTP_AUTHORIZATION": "Bearer tok-a"}),
    ],
)
def test_the_app_reads_exactly_the_body_from_a_stream_that_holds_more(
    method: str, path: str, headers: Dict[str, str]
) -> None:
    # As a server that hands the socket to the app would: the next request's bytes follow the body.
    stream = io.BytesIO(b"0123456789" + b"GET /next HTTP/1.1\r\n")
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": "10", "wsgi.input": stream}
    environ.update(headers)
    statuses: List[str] = []
    ShopApp()(environ, lambda status, headers: statuses.append(status))
    assert statuses and stream.read() == b"GET /next HTTP/1.1\r\n"


def test_controls_names_what_an_emulator_lacks() -> None:
    class Half:
        def counts(self) -> Counts:
            return Counts()

    with pytest.raises(PluginError, match=r"Half lacks .*expire_access_tokens, revoke_refresh_tokens"):
        controls(Half())
    for provider in ("alor", "tradingdesk"):
        with sandbox.running(provider) as sb:
            assert isinstance(sb.emulator, EmulatorControls)
            assert controls(sb.emulator).counts() == Counts(logins=0, refreshes=0, commands=0)


# -- ALOR ---------------------------------------------------------------------------------------------

ORDERS = re.compile("/orders/actions/")


def _connect(provider: str, sb: Any) -> Any:
    return integrations.connect(provider, base_urls=sb.base_urls, credentials=sb.credentials)


def _statuses(sb: Any, path: str) -> List[Optional[int]]:
    return [r.status for r in sb.requests() if r.path == path]


def test_alor_expired_access_tokens_get_401_and_one_renewal() -> None:
    with sandbox.running("alor") as sb, _connect("alor", sb) as client:
        client.orderbook("MOEX", "SBER", depth=1)
        sb.emulator.expire_access_tokens()
        assert client.orderbook("MOEX", "SBER", depth=1).bids
        assert _statuses(sb, "/md/v2/orderbooks/MOEX/SBER") == [200, 401, 200]
        assert client.client.tokens.refreshes == 1
        assert sb.emulator.counts() == Counts(logins=2, refreshes=0, commands=0)


def test_alor_revoked_refresh_tokens_end_the_session_once_the_jwt_is_rejected() -> None:
    with sandbox.running("alor") as sb, _connect("alor", sb) as client:
        client.orderbook("MOEX", "SBER", depth=1)
        sb.emulator.revoke_refresh_tokens()
        client.orderbook("MOEX", "SBER", depth=1)  # the JWT it holds still works
        sb.emulator.expire_access_tokens()
        with pytest.raises(AuthenticationError) as info:
            client.orderbook("MOEX", "SBER", depth=1)
        assert info.value.status == 403
        assert sb.emulator.counts().logins == 1
    with sandbox.running("alor") as sb:
        sb.emulator.revoke_refresh_tokens()
        with _connect("alor", sb) as client, pytest.raises(AuthenticationError):
            client.orderbook("MOEX", "SBER")  # the sandbox's credentials no longer log in


def test_alor_counts_a_deduplicated_retry_once() -> None:
    with sandbox.running("alor") as sb, _connect("alor", sb) as client:
        portfolio = client.portfolios[0]
        lost = sb.faults.add(Fault.drop_reply(method="POST", path=ORDERS, times=1))
        order = dict(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        ack = client.limit_order(**order, price="100.5")
        assert lost.hits == 1
        assert len([r for r in sb.requests() if ORDERS.search(r.path)]) == 2  # sent twice, placed once
        assert sb.emulator.counts() == Counts(logins=1, refreshes=0, commands=1)
        client.cancel_order(ack.order_number, portfolio=portfolio, exchange="MOEX")
        assert sb.emulator.counts() == Counts(logins=1, refreshes=0, commands=2)
        assert sb.emulator.orders_placed == 1


# -- Trading Desk -------------------------------------------------------------------------------------


def _rpc_methods(sb: Any) -> List[str]:
    return [m for r in sb.requests() for m in r.rpc_methods]


def test_tradingdesk_expired_access_tokens_are_refreshed_once() -> None:
    with sandbox.running("tradingdesk") as sb, _connect("tradingdesk", sb) as td:
        td.campaigns()
        sb.emulator.expire_access_tokens()
        assert td.campaigns()
        assert _rpc_methods(sb) == [
            "User.auth",
            "Campaign.getList",
            "Campaign.getList",  # -32001 token expired
            "User.tokenRefresh",
            "Campaign.getList",
        ]
        assert sb.emulator.counts() == Counts(logins=1, refreshes=1, commands=0)


def test_tradingdesk_revoked_refresh_tokens_fall_back_to_user_auth() -> None:
    with sandbox.running("tradingdesk") as sb, _connect("tradingdesk", sb) as td:
        td.user_info()
        sb.emulator.revoke_refresh_tokens()
        td.user_info()  # the access token still works
        sb.emulator.expire_access_tokens()
        assert td.user_info().email
        assert _rpc_methods(sb)[-4:] == ["User.getInfo", "User.tokenRefresh", "User.auth", "User.getInfo"]
        assert sb.emulator.counts() == Counts(logins=2, refreshes=0, commands=0)


def test_tradingdesk_reads_and_unknown_methods_are_not_commands() -> None:
    with sandbox.running("tradingdesk") as sb, _connect("tradingdesk", sb) as td:
        sb.faults.add(Fault.drop_reply(rpc_method="Campaign.getList", times=1))
        td.campaigns()  # a read: retried after the lost reply
        with pytest.raises(integrations.RpcError):
            td.rpc("Campaign.create", {"title": "Spring sale"})  # not emulated: -32601
        assert sb.emulator.counts() == Counts(logins=1, refreshes=0, commands=0)
