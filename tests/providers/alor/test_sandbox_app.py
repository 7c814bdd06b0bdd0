"""WSGI-level tests of the ALOR emulator (no server, no sockets)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from decimal import Decimal
from typing import Any, Optional

import pytest
from werkzeug.test import Client, TestResponse

from integrations.runtime import ManualClock
from integrations.sandbox.emulator import Emulator
from integrations_alor.sandbox import AlorEmulator

T0 = 1_700_000_000.0
ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders"
DEFAULT_PORTFOLIOS = ["D39004", "G39004", "750039004", "D39014", "G39014", "750039014"]


class Harness:
    def __init__(self, seed: int = 7, **options: Any) -> None:
        self.clock = ManualClock(T0)
        self.emu = AlorEmulator(seed=seed, clock=self.clock, **options)
        apps = self.emu.wsgi_apps()
        self.oauth = Client(apps["oauth"])
        self.api = Client(apps["api"])

    def access_token(self, login: Optional[str] = None) -> str:
        if login is None:
            refresh = self.emu.credentials()["refresh_token"]
        else:
            refresh = self.emu.issue_refresh_token(login)
        response = self.oauth.post("/refresh", query_string={"token": refresh})
        assert response.status_code == 200
        return str(response.get_json()["AccessToken"])

    def auth(self, token: Optional[str] = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.access_token()}"}

    def book(
        self, path: str = "/md/v2/orderbooks/MOEX/SBER", token: Optional[str] = None, **query: Any
    ) -> TestResponse:
        return self.api.get(path, query_string=query, headers=self.auth(token))

    def order(
        self,
        kind: str,
        body: dict[str, Any],
        reqid: Optional[str] = "req-1",
        token: Optional[str] = None,
        header: str = "X-REQID",
    ) -> TestResponse:
        headers = self.auth(token)
        if reqid is not None:
            headers[header] = reqid
        return self.api.post(f"{ORDERS}/actions/{kind}", json=body, headers=headers)

    def orders(
        self, portfolio: str = "D39004", token: Optional[str] = None, suffix: str = ""
    ) -> TestResponse:
        return self.api.get(f"/md/v2/Clients/MOEX/{portfolio}/orders{suffix}", headers=self.auth(token))

    def cancel(self, order_id: str, token: Optional[str] = None, **query: str) -> TestResponse:
        params = {"portfolio": "D39004", "exchange": "MOEX", **query}
        return self.api.delete(f"{ORDERS}/{order_id}", query_string=params, headers=self.auth(token))


def order_body(
    kind: str = "limit",
    portfolio: str = "D39004",
    symbol: str = "SBER",
    side: str = "buy",
    quantity: Any = 1,
    price: Any = 281.5,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "side": side,
        "quantity": quantity,
        "instrument": {"symbol": symbol, "exchange": "MOEX", "instrumentGroup": "TQBR"},
        "comment": "t1",
        "user": {"portfolio": portfolio},
        "timeInForce": "oneday",
        "allowMargin": False,
        "type": kind,  # not in the schema: the server ignores unknown fields
    }
    if kind in ("limit", "stopLimit"):
        body["price"] = price
    body.update(extra)
    return body


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return _b64_json(header), _b64_json(payload)


def _b64_json(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@pytest.fixture
def h() -> Harness:
    return Harness()


# -- /refresh ---------------------------------------------------------------------------------------------


def test_emulator_satisfies_protocol(h: Harness) -> None:
    assert isinstance(h.emu, Emulator)
    assert set(h.emu.wsgi_apps()) == {"oauth", "api"}
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        h.emu.credentials()["refresh_token"],
    )


def test_refresh_query_form(h: Harness) -> None:
    response = h.oauth.post("/refresh", query_string={"token": h.emu.credentials()["refresh_token"]})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert list(response.get_json()) == ["AccessToken"]
    assert h.emu.refresh_count == 1


@pytest.mark.parametrize("key", ["token", "Token", "TOKEN"])
def test_refresh_body_form_any_key_case(h: Harness, key: str) -> None:
    # The SDK posts {"Token": ...} to /refresh?token= with an empty query value.
    response = h.oauth.post("/refresh?token=", json={key: h.emu.credentials()["refresh_token"]})
    assert response.status_code == 200
    assert jwt_parts(response.get_json()["AccessToken"])[1]["sub"] == "P039004"


def test_refresh_body_wins_over_query(h: Harness) -> None:
    good = h.emu.credentials()["refresh_token"]
    assert h.oauth.post("/refresh", query_string={"token": "bogus"}, json={"token": good}).status_code == 200
    assert h.oauth.post("/refresh", query_string={"token": good}, json={"token": "bogus"}).status_code == 403
    assert h.emu.refresh_count == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query_string": {"token": "not-a-token"}},
        {"json": {"token": "not-a-token"}},
        {"json": {"token": 12345}},
        {},
    ],
)
def test_refresh_bad_or_missing_token_is_403(h: Harness, kwargs: dict[str, Any]) -> None:
    response = h.oauth.post("/refresh", **kwargs)
    assert response.status_code == 403
    assert len(response.data) < 100
    assert h.emu.refresh_count == 0


def test_refresh_wrong_method_and_path(h: Harness) -> None:
    assert h.oauth.get("/refresh").status_code == 405
    assert h.oauth.post("/token").status_code == 404


def test_issue_refresh_token_revokes_old(h: Harness) -> None:
    old = h.emu.credentials()["refresh_token"]
    new = h.emu.issue_refresh_token()
    assert new != old
    assert h.emu.credentials() == {"refresh_token": new}
    assert h.oauth.post("/refresh", query_string={"token": old}).status_code == 403
    assert h.oauth.post("/refresh", query_string={"token": new}).status_code == 200
    with pytest.raises(KeyError):
        h.emu.issue_refresh_token("NOBODY")


def test_second_account_token_is_independent(h: Harness) -> None:
    default_token = h.emu.credentials()["refresh_token"]
    other = h.emu.issue_refresh_token("P039005")
    claims = jwt_parts(h.oauth.post("/refresh", query_string={"token": other}).get_json()["AccessToken"])[1]
    assert claims["sub"] == "P039005"
    assert claims["portfolios"] == "D39005 G39005 750039005"
    assert h.oauth.post("/refresh", query_string={"token": default_token}).status_code == 200


def test_jwt_claims_and_expiry() -> None:
    h = Harness(access_token_ttl=600)
    token = h.access_token()
    header, claims = jwt_parts(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["sub"] == "P039004"
    assert claims["ent"] == "client"
    assert claims["clientid"] == "0123456"
    assert re.fullmatch(r"[0-9a-f]{20}", claims["azp"])
    assert claims["agreements"] == "3900400 3900401"
    assert claims["portfolios"].split() == DEFAULT_PORTFOLIOS
    assert claims["scope"] == "OrdersRead OrdersCreate Trades Personal Stats"
    assert claims["iat"] == int(T0)
    assert claims["exp"] == int(T0) + 600
    assert all(isinstance(claims[k], str) for k in ("sub", "ent", "ein", "clientid", "azp", "portfolios"))
    assert h.access_token() != token  # minted in the same second, still distinct


def test_allowed_portfolios_narrow_the_claim(h: Harness) -> None:
    refresh = h.emu.credentials()["refresh_token"]
    body = h.oauth.post("/refresh", json={"token": refresh, "allowedPortfolios": ["G39004", "D39004"]})
    assert jwt_parts(body.get_json()["AccessToken"])[1]["portfolios"] == "D39004 G39004"
    query = h.oauth.post("/refresh", query_string={"token": refresh, "allowedPortfolios": '["750039004"]'})
    assert jwt_parts(query.get_json()["AccessToken"])[1]["portfolios"] == "750039004"
    foreign = h.oauth.post("/refresh", json={"token": refresh, "allowedPortfolios": ["D39005"]})
    assert foreign.status_code == 400
    not_json = h.oauth.post("/refresh", query_string={"token": refresh, "allowedPortfolios": "D39004"})
    assert not_json.status_code == 400
    assert h.emu.refresh_count == 2


# -- authentication ----------------------------------------------------------------------------------------


def test_expired_jwt_is_401() -> None:
    h = Harness(access_token_ttl=60)
    token = h.access_token()
    assert h.book(token=token).status_code == 200
    h.clock.advance(59.5)
    assert h.book(token=token).status_code == 200
    h.clock.advance(0.5)
    response = h.book(token=token)
    assert response.status_code == 401
    assert response.data == b""
    assert response.headers["Content-Length"] == "0"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic abc",
        "Bearer not.a.jwt",
        "Bearer abc",
    ],
)
def test_missing_or_malformed_auth_is_401(h: Harness, authorization: Optional[str]) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = h.api.get("/md/v2/orderbooks/MOEX/SBER", headers=headers)
    assert response.status_code == 401
    assert response.data == b""


def test_fake_signature_and_foreign_emulator_tokens_are_401(h: Harness) -> None:
    header, payload, _ = h.access_token().split(".")
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(b'x' * 32).rstrip(b'=').decode()}"
    assert h.book(token=forged).status_code == 401
    other = Harness(seed=8)
    assert h.book(token=other.access_token()).status_code == 401


def test_time_needs_no_auth(h: Harness) -> None:
    response = h.api.get("/md/v2/time")
    assert response.status_code == 200
    assert response.data == b"1700000000"
    h.clock.advance(5)
    assert h.api.get("/md/v2/time").get_json() == 1_700_000_005


# -- order books -----------------------------------------------------------------------------------------


def test_orderbook_formats_carry_the_same_levels(h: Harness) -> None:
    token = h.access_token()
    simple = h.book(token=token).get_json()
    slim = h.book(token=token, format="Slim").get_json()
    heavy = h.book(token=token, format="HEAVY").get_json()
    assert set(simple) == {"snapshot", "bids", "asks", "timestamp", "ms_timestamp", "existing"}
    assert set(slim) == {"b", "a", "t", "h"}
    assert set(heavy) == {"bids", "asks", "msTimestamp", "existing"}
    assert simple["timestamp"] == int(T0)
    assert simple["ms_timestamp"] == int(T0 * 1000)
    assert slim["t"] == heavy["msTimestamp"] == int(T0 * 1000)
    assert simple["existing"] is heavy["existing"] is slim["h"] is True
    assert _pairs(simple["bids"], "price", "volume") == _pairs(slim["b"], "p", "v")
    assert _pairs(simple["asks"], "price", "volume") == _pairs(slim["a"], "p", "v")
    assert _pairs(simple["asks"], "price", "volume") == _pairs(heavy["asks"], "price", "volume")
    assert simple["bids"] == heavy["bids"]
    assert len(simple["bids"]) == len(simple["asks"]) == 20  # default depth


def _pairs(levels: list[dict[str, Any]], price: str, volume: str) -> list[tuple[Any, Any]]:
    return [(level[price], level[volume]) for level in levels]


def test_orderbook_is_sorted_realistic_and_exact(h: Harness) -> None:
    response = h.book(depth=50)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.data)
    book = json.loads(response.data, parse_float=Decimal)
    bids = [level["price"] for level in book["bids"]]
    asks = [level["price"] for level in book["asks"]]
    assert bids == sorted(bids, reverse=True)
    assert len(set(bids)) == 50
    assert asks == sorted(asks)
    assert len(set(asks)) == 50
    assert bids[0] < asks[0]
    assert Decimal(280) <= bids[0] <= Decimal(300)
    volumes = [level["volume"] for level in book["bids"] + book["asks"]]
    assert all(isinstance(volume, int) and volume > 0 for volume in volumes)
    # Prices are JSON numbers written as exact decimals with the instrument's step (0.01), no float noise.
    for literal in re.findall(rb'"price":([^,}]+)', response.data):
        assert re.fullmatch(rb"\d+(\.\d{1,2})?", literal), literal


def test_orderbook_other_instruments(h: Harness) -> None:
    token = h.access_token()
    gazp = h.book("/md/v2/orderbooks/MOEX/GAZP", token=token).get_json()
    assert 130 <= gazp["bids"][0]["price"] <= 170
    lkoh = h.book("/md/v2/orderbooks/moex/lkoh", token=token, instrumentGroup="TQBR").get_json()
    assert all(Decimal(str(level["price"])) % Decimal("0.5") == 0 for level in lkoh["asks"])
    aapl = h.book("/md/v2/orderbooks/SPBX/AAPL", token=token, instrumentGroup="SPBX")
    assert aapl.status_code == 200
    assert aapl.get_json()["asks"]


@pytest.mark.parametrize("depth", [1, 50])
def test_orderbook_depth_bounds_ok(h: Harness, depth: int) -> None:
    book = h.book(depth=depth, format="Slim").get_json()
    assert len(book["b"]) == len(book["a"]) == depth


@pytest.mark.parametrize("query", [{"depth": 0}, {"depth": 51}, {"depth": "x"}, {"format": "Fat"}])
def test_orderbook_bad_parameters_400(h: Harness, query: dict[str, Any]) -> None:
    response = h.book(**query)
    assert response.status_code == 400
    assert isinstance(response.get_json()["message"], str)


def test_orderbook_unknown_symbol() -> None:
    h = Harness()
    token = h.access_token()
    response = h.book("/md/v2/orderbooks/MOEX/NOPE", token=token)
    assert response.status_code == 404
    assert response.data == b""
    assert h.book(token=token, instrumentGroup="SMAL").status_code == 404  # wrong board for SBER
    lenient = Harness(unknown_symbol_status=200)
    book = lenient.book("/md/v2/orderbooks/MOEX/NOPE").get_json()
    assert book["bids"] == []
    assert book["asks"] == []
    assert book["existing"] is True


def test_unknown_route_and_wrong_method(h: Harness) -> None:
    assert h.api.get("/md/v2/nothing/here").status_code == 404
    assert h.api.get("/").status_code == 404
    assert h.api.post("/md/v2/time").status_code == 405
    assert h.api.get(f"{ORDERS}/actions/limit", headers=h.auth()).status_code == 405
    assert h.api.post(f"{ORDERS}/actions/iceberg", headers=h.auth()).status_code == 404


# -- order commands --------------------------------------------------------------------------------------


def test_market_and_limit_orders(h: Harness) -> None:
    token = h.access_token()
    best_ask = h.book(token=token).get_json()["asks"][0]["price"]
    market = h.order("market", order_body("market", quantity=2), reqid="m1", token=token)
    limit = h.order("limit", order_body(price=281.5, side="SELL"), reqid="l1", token=token)
    assert market.status_code == limit.status_code == 200
    assert market.get_json()["message"] == "success"
    first, second = market.get_json()["orderNumber"], limit.get_json()["orderNumber"]
    assert isinstance(first, str)
    assert int(second) == int(first) + 1
    assert h.emu.orders_placed == 2
    listed = {o["id"]: o for o in h.orders(token=token).get_json()}
    assert listed[first]["status"] == "filled"
    assert listed[first]["filled"] == 2
    assert listed[first]["price"] == best_ask
    assert listed[first]["qtyUnits"] == 20
    assert listed[first]["brokerSymbol"] == "MOEX:SBER"
    assert listed[first]["type"] == "market"
    assert listed[second]["status"] == "working"
    assert listed[second]["price"] == 281.5
    assert listed[second]["side"] == "sell"
    assert listed[second]["comment"] == "t1"
    assert listed[second]["transTime"] == "2023-11-14T22:13:20.0000000Z"
    one = h.orders(token=token, suffix=f"/{second}")
    assert one.status_code == 200
    assert one.get_json() == listed[second]
    assert h.orders(token=token, suffix="/1").status_code == 404
    assert h.api.get("/md/v2/Clients/SPBX/D39004/orders", headers=h.auth(token)).get_json() == []


@pytest.mark.parametrize("header", ["X-REQID", "X-ALOR-REQID"])
def test_duplicate_request_id_replays_first_answer(h: Harness, header: str) -> None:
    token = h.access_token()
    first = h.order("limit", order_body(), reqid="dup-1", token=token, header=header)
    assert first.status_code == 200
    again = h.order("limit", order_body(price=1), reqid="dup-1", token=token, header=header)
    assert again.status_code == 400
    body = again.get_json()
    assert header in body["message"]
    assert body["oldResponse"] == {"statusCode": 200, "body": first.get_json()}
    assert h.emu.orders_placed == 1
    # Same id on another endpoint is still a duplicate.
    market = h.order("market", order_body("market"), reqid="dup-1", token=token, header=header)
    assert market.status_code == 400
    assert len(h.orders(token=token).get_json()) == 1


def test_x_reqid_preferred_over_legacy_header(h: Harness) -> None:
    token = h.access_token()
    headers = {**h.auth(token), "X-REQID": "new", "X-ALOR-REQID": "legacy"}
    assert h.api.post(f"{ORDERS}/actions/limit", json=order_body(), headers=headers).status_code == 200
    legacy = h.order("limit", order_body(), reqid="legacy", token=token, header="X-ALOR-REQID")
    assert legacy.status_code == 200
    assert h.order("limit", order_body(), reqid="new", token=token).status_code == 400
    assert h.emu.orders_placed == 2


def test_dedup_is_per_login_and_skips_unauthenticated(h: Harness) -> None:
    assert h.order("limit", order_body(), reqid="same", token="bad.token.here").status_code == 401
    assert h.order("limit", order_body(), reqid="same").status_code == 200
    other = h.access_token("P039005")
    assert h.order("limit", order_body(portfolio="D39005"), reqid="same", token=other).status_code == 200
    assert h.emu.orders_placed == 2


def test_failed_command_is_remembered_too(h: Harness) -> None:
    token = h.access_token()
    first = h.order("limit", order_body(quantity=0), reqid="v1", token=token)
    assert first.status_code == 400
    replay = h.order("limit", order_body(), reqid="v1", token=token).get_json()
    assert replay["oldResponse"] == {"statusCode": 400, "body": first.get_json()}
    assert h.emu.orders_placed == 0


def test_missing_request_id_is_400(h: Harness) -> None:
    response = h.order("limit", order_body(), reqid=None)
    assert response.status_code == 400
    assert "X-REQID" in response.get_json()["message"]
    assert h.emu.orders_placed == 0


def test_foreign_portfolio_is_403(h: Harness) -> None:
    token = h.access_token()
    assert h.order("limit", order_body(portfolio="D39005"), token=token).status_code == 403
    assert h.orders("D39005", token=token).status_code == 403
    assert h.cancel("1", token=token, portfolio="D39005", stop="false").status_code == 403
    narrowed = h.oauth.post(
        "/refresh", json={"token": h.emu.credentials()["refresh_token"], "allowedPortfolios": ["G39004"]}
    ).get_json()["AccessToken"]
    assert h.order("limit", order_body(), reqid="n1", token=narrowed).status_code == 403
    assert h.emu.orders_placed == 0


@pytest.mark.parametrize(
    ("kind", "changes"),
    [
        ("limit", {"quantity": 0}),
        ("limit", {"quantity": 1.5}),
        ("limit", {"quantity": "1"}),
        ("limit", {"side": "hold"}),
        ("limit", {"price": 0}),
        ("limit", {"price": None}),
        ("limit", {"comment": "x" * 101}),
        ("limit", {"timeInForce": "forever"}),
        ("limit", {"instrument": {"symbol": "NOPE", "exchange": "MOEX"}}),
        ("market", {"instrument": {"symbol": "SBER", "exchange": "NYSE"}}),
        ("market", {"user": {}}),
        ("stop", {"triggerPrice": 250}),  # no condition
    ],
)
def test_validation_errors_are_400(h: Harness, kind: str, changes: dict[str, Any]) -> None:
    response = h.order(kind, order_body(kind, **changes))
    assert response.status_code == 400
    assert isinstance(response.get_json()["message"], str)
    assert h.emu.orders_placed == 0


def test_malformed_json_body_is_400(h: Harness) -> None:
    headers = {**h.auth(), "X-REQID": "j1", "Content-Type": "application/json"}
    assert h.api.post(f"{ORDERS}/actions/limit", data=b"{nope", headers=headers).status_code == 400


def test_property_names_and_enums_are_case_insensitive(h: Harness) -> None:
    body = {
        "Side": "Buy",
        "Quantity": 3,
        "Price": 281.5,
        "User": {"Portfolio": "D39004"},
        "Instrument": {"Symbol": "sber", "Exchange": "moex"},
    }
    assert h.order("limit", body).status_code == 200


# -- cancel ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stop_value", ["False", "false", "FALSE"])
def test_cancel_limit_order(h: Harness, stop_value: str) -> None:
    token = h.access_token()
    number = h.order("limit", order_body(), token=token).get_json()["orderNumber"]
    h.clock.advance(3)
    response = h.cancel(number, token=token, stop=stop_value)
    assert response.status_code == 200
    assert response.data == b"success"
    assert response.headers["Content-Type"].startswith("text/plain")
    order = h.orders(token=token, suffix=f"/{number}").get_json()
    assert order["status"] == "canceled"
    assert order["updateTime"] == "2023-11-14T22:13:23.0000000Z"
    again = h.cancel(number, token=token, stop=stop_value)
    assert again.status_code == 400
    assert again.get_json() == {"code": "OrderToCancelNotFound (404)", "message": "Order to cancel not found"}


def test_stop_orders_cancel_with_stop_true(h: Harness) -> None:
    token = h.access_token()
    stop = order_body("stop", side="sell", triggerPrice=250, condition="LessOrEqual")
    number = h.order("stop", stop, reqid="s1", token=token).get_json()["orderNumber"]
    stop_limit = order_body("stopLimit", triggerPrice=300.5, condition="more", price=301)
    assert h.order("stopLimit", stop_limit, reqid="s2", token=token).status_code == 200
    listed = h.api.get("/md/v2/clients/moex/D39004/stoporders", headers=h.auth(token)).get_json()
    assert [o["type"] for o in listed] == ["stop", "stoplimit"]
    assert listed[0]["condition"] == "LessOrEqual"
    assert listed[0]["stopPrice"] == 250
    assert h.orders(token=token).get_json() == []  # stop orders are not in the regular list
    assert h.cancel(number, token=token, stop="false").status_code == 400
    assert h.cancel(number, token=token, stop="TRUE").status_code == 200


def test_cancel_errors(h: Harness) -> None:
    token = h.access_token()
    unknown = h.cancel("424242", token=token, stop="false")
    assert unknown.status_code == 400
    assert unknown.get_json()["code"] == "OrderToCancelNotFound (404)"
    filled = h.order("market", order_body("market"), token=token).get_json()["orderNumber"]
    assert h.cancel(filled, token=token, stop="false").status_code == 400
    assert h.cancel(filled, token=token).status_code == 400  # stop is required
    assert h.cancel(filled, token=token, stop="maybe").status_code == 400
    missing = h.api.delete(f"{ORDERS}/{filled}", query_string={"stop": "false"}, headers=h.auth(token))
    assert missing.status_code == 400
    assert h.api.delete(f"{ORDERS}/{filled}?portfolio=D39004&exchange=MOEX&stop=false").status_code == 401


def test_cancel_all(h: Harness) -> None:
    token = h.access_token()
    nothing = h.cancel("all", token=token, stop="false")
    assert nothing.status_code == 400
    assert nothing.get_json() == {"code": "OrderToCancelNotFound", "message": "Orders to cancel not found"}
    for reqid in ("a1", "a2"):
        h.order("limit", order_body(), reqid=reqid, token=token)
    assert h.cancel("all", token=token, stop="false").data == b"success"
    assert {o["status"] for o in h.orders(token=token).get_json()} == {"canceled"}


def test_lower_case_paths(h: Harness) -> None:
    token = h.access_token()
    number = h.order("limit", order_body(), token=token).get_json()["orderNumber"]
    lower = h.api.get("/md/v2/clients/moex/D39004/orders", headers=h.auth(token))
    upper = h.api.get("/MD/V2/CLIENTS/MOEX/D39004/ORDERS", headers=h.auth(token))
    assert lower.status_code == upper.status_code == 200
    assert [o["id"] for o in lower.get_json()] == [number]
    assert lower.data == upper.data
    post = h.api.post(
        f"{ORDERS.lower()}/actions/stoplimit",
        headers={**h.auth(token), "X-REQID": "x"},
        json=order_body("stopLimit", triggerPrice=290, condition="Less"),
    )
    assert post.status_code == 200
    assert h.api.get("/md/v2/ORDERBOOKS/MOEX/SBER", headers=h.auth(token)).status_code == 200


# -- test controls, determinism, concurrency -------------------------------------------------------------


def test_delay_next_command_uses_real_time_and_stores_first(h: Harness) -> None:
    token = h.access_token()
    h.emu.delay_next_command(0.2)
    started = time.monotonic()
    first = h.order("limit", order_body(), reqid="slow", token=token)
    assert time.monotonic() - started >= 0.2
    assert first.status_code == 200
    assert h.clock.now() == T0  # the emulator clock did not move
    started = time.monotonic()
    retry = h.order("limit", order_body(), reqid="slow", token=token)
    assert time.monotonic() - started < 0.2
    assert retry.get_json()["oldResponse"]["body"]["orderNumber"] == first.get_json()["orderNumber"]
    assert h.emu.orders_placed == 1


def _script(h: Harness) -> list[bytes]:
    out = [h.oauth.post("/refresh", query_string={"token": h.emu.credentials()["refresh_token"]}).data]
    token = json.loads(out[0])["AccessToken"]
    for fmt in ("Simple", "Slim", "Heavy"):
        out.append(h.book(token=token, format=fmt, depth=50).data)
    out.append(h.book("/md/v2/orderbooks/SPBX/AAPL", token=token).data)
    out.append(h.order("market", order_body("market"), reqid="d1", token=token).data)
    out.append(h.order("limit", order_body(), reqid="d2", token=token).data)
    out.append(h.orders(token=token).data)
    out.append(h.emu.issue_refresh_token().encode())
    return out


def test_determinism_same_seed_same_bytes() -> None:
    first, second = _script(Harness(seed=42)), _script(Harness(seed=42))
    assert first == second
    assert _script(Harness(seed=43))[1] != first[1]  # a different seed gives a different book


def test_concurrent_duplicates_place_one_order(h: Harness) -> None:
    token = h.access_token()
    app = h.emu.wsgi_apps()["api"]
    statuses: list[int] = []

    def worker() -> None:
        response = Client(app).post(
            f"{ORDERS}/actions/limit",
            json=order_body(),
            headers={"Authorization": f"Bearer {token}", "X-REQID": "race"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7
    assert h.emu.orders_placed == 1
