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
from integrations_alor.sandbox_data import INSTRUMENTS

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


def future_body(portfolio: str = "750039004", symbol: str = "SiZ6", **extra: Any) -> dict[str, Any]:
    body = order_body("market", portfolio=portfolio, symbol=symbol, **extra)
    body["instrument"] = {"symbol": symbol, "exchange": "MOEX", "instrumentGroup": "RFUD"}
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
    assert response.data == b""  # the spec documents the status only
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
    # The guide's header but for alg: HS256 keeps re-recording byte-identical (ES256 is randomised).
    assert list(header.items()) == [("alg", "HS256"), ("typ", "JWT"), ("cty", "JWT")]
    # The guide's claims, in its order.
    assert list(claims) == [
        "sub", "ent", "ein", "clientid", "azp", "agreements", "portfolios", "scope", "exp", "iat", "iss", "aud",
    ]  # fmt: skip
    assert claims["sub"] == "P039004"
    assert claims["ent"] == "client"
    assert claims["clientid"] == "0123456"
    assert re.fullmatch(r"[0-9a-f]{20}", claims["azp"])
    assert claims["agreements"] == "3900400 3900401"
    assert claims["portfolios"].split() == DEFAULT_PORTFOLIOS
    assert claims["scope"] == "OrdersRead OrdersCreate Trades Personal Stats"
    assert claims["iat"] == int(T0)
    assert claims["exp"] == int(T0) + 600
    assert claims["iss"] == "Alor.Identity"
    assert (
        claims["aud"]
        == "Client WARP WarpATConnector subscriptionsApi CommandApi InstrumentApi TradingViewPlatform"
    )
    assert all(isinstance(v, str) for k, v in claims.items() if k not in ("exp", "iat"))
    assert type(claims["exp"]) is int and type(claims["iat"]) is int
    # Same claims in the same second: the same token (HS256 is deterministic). Time moves them apart.
    assert h.access_token() == token
    h.clock.advance(1)
    later = h.access_token()
    assert later != token
    assert jwt_parts(later)[1]["iat"] == int(T0) + 1
    assert h.book(token=token).status_code == h.book(token=later).status_code == 200


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
    assert list(response.get_json()) == ["message"]  # no invented error code


def test_orderbook_unknown_exchange_400(h: Harness) -> None:
    response = h.book("/md/v2/orderbooks/NYSE/SBER")
    assert response.status_code == 400
    assert response.get_json() == {"message": "Unknown exchange NYSE"}


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
    limit = h.order("limit", order_body(price=299.5, side="SELL"), reqid="l1", token=token)
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
    assert listed[second]["price"] == 299.5
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
    assert response.get_json() == {"message": "X-REQID header is required"}
    assert h.emu.orders_placed == 0


def test_foreign_portfolio_is_403(h: Harness) -> None:
    token = h.access_token()
    assert h.order("limit", order_body(portfolio="D39005"), token=token).status_code == 403
    assert h.orders("D39005", token=token).status_code == 403
    assert h.cancel("1", token=token, portfolio="D39005", stop="false").status_code == 403
    narrowed = h.oauth.post(
        "/refresh", json={"token": h.emu.credentials()["refresh_token"], "allowedPortfolios": ["G39004"]}
    ).get_json()["AccessToken"]
    refused = h.order("limit", order_body(), reqid="n1", token=narrowed)
    assert refused.status_code == 403
    assert refused.data == b""  # the spec documents the status only
    assert h.emu.orders_placed == 0
    # A refusal before trading does not use up the request id.
    assert h.order("limit", order_body(), reqid="n1", token=token).status_code == 200


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
        ("stop", {"triggerPrice": 250, "condition": "less", "protectingSeconds": 0}),
        ("stopLimit", {"triggerPrice": 250, "condition": "less", "protectingSeconds": 301}),
    ],
)
def test_validation_errors_are_400(h: Harness, kind: str, changes: dict[str, Any]) -> None:
    response = h.order(kind, order_body(kind, **changes))
    assert response.status_code == 400
    assert list(response.get_json()) == ["message"]  # no invented error code
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
    out.append(h.book("/md/v2/orderbooks/MOEX/SU26238RMFS4", token=token, format="Slim").data)
    out.append(h.book("/md/v2/orderbooks/MOEX/SiZ6", token=token).data)
    out.append(h.order("market", order_body("market"), reqid="d1", token=token).data)
    out.append(h.order("limit", order_body(), reqid="d2", token=token).data)
    out.append(h.order("market", future_body(), reqid="d3", token=token).data)
    for fmt in ("Simple", "Slim", "Heavy"):
        out.append(h.api.get(f"/md/v2/Clients/MOEX/D39004/orders?format={fmt}", headers=h.auth(token)).data)
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


# -- the market: instruments, boards and the portfolios that trade them --------------------------------


MOEX_BOARDS = {"TQBR": "FOND", "TQOB": "FOND", "TQCB": "FOND", "RFUD": "FORTS", "CETS": "CURR"}


def test_a_broad_moex_market_on_every_board() -> None:
    moex = [i for i in INSTRUMENTS if i.exchange == "MOEX"]
    assert len(moex) >= 30
    assert {i.board for i in moex} == set(MOEX_BOARDS)
    assert all(MOEX_BOARDS[i.board] == i.market for i in moex)
    assert len({i.symbol.upper() for i in INSTRUMENTS}) == len(INSTRUMENTS)
    symbols = {i.symbol for i in moex}
    assert {"SBER", "GAZP", "SiZ6", "RIZ6", "BRF7", "GDZ6", "USD000UTSTOM", "CNYRUB_TOM"} <= symbols
    assert all(i.board == "SPBX" and i.market == "SPBX" for i in INSTRUMENTS if i.exchange == "SPBX")


@pytest.mark.parametrize("inst", INSTRUMENTS, ids=lambda i: f"{i.exchange}:{i.symbol}")
def test_every_book_is_on_its_board_sorted_and_on_tick(h: Harness, inst: Any) -> None:
    token = h.access_token()
    path = f"/md/v2/orderbooks/{inst.exchange}/{inst.symbol}"
    response = h.book(path, token=token, depth=50, instrumentGroup=inst.board)
    assert response.status_code == 200
    book = json.loads(response.data, parse_float=Decimal)
    bids = [level["price"] for level in book["bids"]]
    asks = [level["price"] for level in book["asks"]]
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == 50
    assert asks == sorted(asks) and len(set(asks)) == 50
    assert inst.low <= bids[0] <= inst.high
    assert bids[0] < asks[0]
    assert all(price % inst.step == 0 for price in bids + asks)
    # Prices are always JSON floats (the documented type), volumes JSON ints.
    plain = response.get_json()
    assert all(type(level["price"]) is float for level in plain["bids"] + plain["asks"])
    assert all(
        type(level["volume"]) is int and level["volume"] > 0 for level in plain["bids"] + plain["asks"]
    )
    other = "TQCB" if inst.board != "TQCB" else "TQBR"
    assert h.book(path, token=token, instrumentGroup=other).status_code == 404


def test_bond_levels_carry_the_yield_in_slim_only(h: Harness) -> None:
    token = h.access_token()
    for inst in INSTRUMENTS:
        path = f"/md/v2/orderbooks/{inst.exchange}/{inst.symbol}"
        slim = h.book(path, token=token, format="Slim", depth=5).get_json()
        simple = h.book(path, token=token, depth=5).get_json()
        heavy = h.book(path, token=token, format="Heavy", depth=5).get_json()
        assert all(set(level) == {"price", "volume"} for level in simple["bids"] + heavy["asks"])
        if inst.yield_range is None:
            assert all(set(level) == {"p", "v"} for level in slim["b"] + slim["a"])
            continue
        assert inst.board in ("TQOB", "TQCB")
        assert all(set(level) == {"p", "v", "y"} for level in slim["b"] + slim["a"])
        yields = [level["y"] for level in slim["b"][::-1] + slim["a"]]  # by rising price
        assert all(type(y) is float for y in yields)
        assert yields == sorted(yields, reverse=True)  # a higher price is a lower yield
        low, high = inst.yield_range
        assert float(low) - 1 < slim["b"][0]["y"] <= float(high) + 1


@pytest.mark.parametrize(
    ("portfolio", "symbol", "board", "accepted"),
    [
        ("D39004", "SBER", "TQBR", True),
        ("D39004", "SU26238RMFS4", "TQOB", True),
        ("D39014", "RU000A1082X0", "TQCB", True),
        ("G39004", "USD000UTSTOM", "CETS", True),
        ("G39014", "CNYRUB_TOM", "CETS", True),
        ("750039004", "SiZ6", "RFUD", True),
        ("750039014", "BRF7", "RFUD", True),
        ("G39004", "SBER", "TQBR", False),
        ("750039004", "SBER", "TQBR", False),
        ("D39004", "SiZ6", "RFUD", False),
        ("D39004", "CNYRUB_TOM", "CETS", False),
        ("G39004", "RIZ6", "RFUD", False),
        ("750039004", "USD000UTSTOM", "CETS", False),
        ("G39004", "SU26240RMFS0", "TQOB", False),
    ],
)
def test_portfolios_trade_their_own_market(
    h: Harness, portfolio: str, symbol: str, board: str, accepted: bool
) -> None:
    body = order_body("market", portfolio=portfolio, symbol=symbol)
    body["instrument"]["instrumentGroup"] = board
    response = h.order("market", body)
    if accepted:
        assert response.status_code == 200
        assert h.emu.orders_placed == 1
        return
    assert response.status_code == 400
    market = MOEX_BOARDS[board]
    assert response.get_json() == {
        "message": f"Portfolio {portfolio} does not trade on the {market} market (MOEX:{symbol})"
    }
    assert h.emu.orders_placed == 0


def test_spbx_is_traded_from_the_stock_portfolio(h: Harness) -> None:
    body = order_body("market", symbol="AAPL")
    body["instrument"] = {"symbol": "AAPL", "exchange": "SPBX", "instrumentGroup": "SPBX"}
    assert h.order("market", body, reqid="s1").status_code == 200
    assert h.order("market", {**body, "user": {"portfolio": "G39004"}}, reqid="s2").status_code == 400


def test_order_values_follow_the_instrument(h: Harness) -> None:
    token = h.access_token()
    h.order("market", future_body(quantity=2), reqid="f1", token=token)
    currency = order_body("limit", portfolio="G39004", symbol="CNYRUB_TOM", price=11.5005, quantity=3)
    currency["instrument"] = {"symbol": "cnyrub_tom", "exchange": "MOEX"}
    assert h.order("limit", currency, reqid="c1", token=token).status_code == 200
    bond = order_body("limit", symbol="SU26238RMFS4", price=60.123, quantity=4)
    bond["instrument"] = {"symbol": "SU26238RMFS4", "exchange": "MOEX", "instrumentGroup": "TQOB"}
    assert h.order("limit", bond, reqid="b1", token=token).status_code == 200
    future = h.api.get("/md/v2/Clients/MOEX/750039004/orders", headers=h.auth(token)).get_json()
    assert [(o["symbol"], o["board"], o["qtyUnits"], o["status"]) for o in future] == [
        ("SiZ6", "RFUD", 2, "filled")
    ]
    fx = h.api.get("/md/v2/Clients/MOEX/G39004/orders", headers=h.auth(token)).get_json()
    assert [(o["symbol"], o["board"], o["qtyUnits"], o["price"], o["volume"]) for o in fx] == [
        ("CNYRUB_TOM", "CETS", 3000, 11.5005, 34501.5)
    ]
    bonds = h.orders(token=token).get_json()
    # A bond's price is percent of its 1000-rouble face value.
    assert [(o["board"], o["qtyUnits"], o["price"], o["volume"]) for o in bonds] == [
        ("TQOB", 4, 60.123, 2404.92)
    ]


# -- order lists honour format ------------------------------------------------------------------------

ORDER_KEYS = {
    # The spec's response_Order_{Simple,Slim,Heavy}, in schema order.
    "Simple": [
        "id", "symbol", "board", "brokerSymbol", "portfolio", "exchange", "comment", "type", "side", "status",
        "transTime", "updateTime", "endTime", "qtyUnits", "qtyBatch", "qty", "filledQtyUnits", "filledQtyBatch",
        "filled", "price", "existing", "timeInForce", "iceberg", "volume",
    ],
    "Slim": [
        "id", "sym", "bd", "tic", "p", "ex", "cmt", "t", "s", "st", "tt", "ut", "et", "q", "qb", "fq", "fqb",
        "px", "h", "tf", "i", "v",
    ],
    "Heavy": [
        "id", "symbol", "board", "brokerSymbol", "portfolio", "exchange", "comment", "type", "side", "status",
        "transTime", "updateTime", "endTime", "qtyUnits", "qtyBatch", "filledQtyUnits", "filledQtyBatch",
        "price", "existing", "timeInForce", "iceberg", "volume",
    ],
}  # fmt: skip
STOP_ORDER_KEYS = {
    # The spec's response_StopOrder_Warp_{Simple,Slim,Heavy}, in schema order.
    "Simple": [
        "id", "exchangeOrderId", "symbol", "brokerSymbol", "portfolio", "exchange", "comment", "board", "type",
        "side", "condition", "status", "transTime", "updateTime", "endTime", "error", "qtyUnits", "qtyBatch",
        "qty", "filled", "filledQtyUnits", "filledQtyBatch", "price", "avg_price", "stopPrice", "existing",
        "timeInForce", "iceberg", "volume", "protectingSeconds",
    ],
    "Slim": [
        "id", "eid", "sym", "tic", "p", "ex", "cmt", "bd", "t", "s", "cnd", "st", "tt", "ut", "et", "err", "q",
        "qb", "fq", "fqb", "px", "pxavg", "pxs", "h", "tf", "i", "v", "psec",
    ],
    "Heavy": [
        "id", "exchangeOrderId", "symbol", "brokerSymbol", "portfolio", "exchange", "comment", "board", "type",
        "side", "condition", "status", "transTime", "updateTime", "endTime", "error", "qtyUnits", "qtyBatch",
        "filledQtyUnits", "filledQtyBatch", "price", "avgPrice", "stopPrice", "existing", "timeInForce",
        "iceberg", "volume", "protectingSeconds",
    ],
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["Simple", "Slim", "Heavy"])
def test_order_lists_honour_format(h: Harness, fmt: str) -> None:
    token = h.access_token()
    number = h.order("limit", order_body(quantity=2), reqid="l1", token=token).get_json()["orderNumber"]
    stop = order_body("stopLimit", triggerPrice=300.5, condition="more", price=301, protectingSeconds=30)
    stop_number = h.order("stopLimit", stop, reqid="s1", token=token).get_json()["orderNumber"]
    base = "/md/v2/Clients/MOEX/D39004"
    orders = h.api.get(f"{base}/orders", query_string={"format": fmt}, headers=h.auth(token)).get_json()
    stops = h.api.get(f"{base}/stoporders", query_string={"format": fmt}, headers=h.auth(token)).get_json()
    assert [list(o) for o in orders] == [ORDER_KEYS[fmt]]
    assert [list(o) for o in stops] == [STOP_ORDER_KEYS[fmt]]
    one = h.api.get(f"{base}/orders/{number}", query_string={"format": fmt.lower()}, headers=h.auth(token))
    assert one.get_json() == orders[0]
    one_stop = h.api.get(
        f"{base}/stoporders/{stop_number}", query_string={"format": fmt}, headers=h.auth(token)
    )
    assert one_stop.get_json() == stops[0]
    order, stop_order = orders[0], stops[0]
    price, units, ident = {"Slim": ("px", "q", "id")}.get(fmt, ("price", "qtyUnits", "id"))
    assert (order[ident], order[price], order[units]) == (number, 281.5, 20)
    assert (stop_order[ident], stop_order[price]) == (stop_number, 301.0)
    assert stop_order[{"Slim": "pxs"}.get(fmt, "stopPrice")] == 300.5
    assert stop_order[{"Slim": "psec"}.get(fmt, "protectingSeconds")] == 30
    assert stop_order[{"Slim": "cnd"}.get(fmt, "condition")] == "More"


def test_order_list_format_is_case_blind_and_validated(h: Harness) -> None:
    token = h.access_token()
    h.order("limit", order_body(), token=token)
    default = h.orders(token=token)
    assert (
        h.api.get("/md/v2/Clients/MOEX/D39004/orders?format=SIMPLE", headers=h.auth(token)).data
        == default.data
    )
    bad = h.api.get("/md/v2/Clients/MOEX/D39004/orders?format=Fat", headers=h.auth(token))
    assert bad.status_code == 400
    assert bad.get_json() == {"message": "format must be one of Simple, Slim, Heavy"}


def test_stop_order_end_time_from_stop_end_unix_time(h: Harness) -> None:
    token = h.access_token()
    body = order_body("stop", side="sell", triggerPrice=250, condition="less", stopEndUnixTime=int(T0) + 3600)
    h.order("stop", body, token=token)
    [stop] = h.api.get("/md/v2/Clients/MOEX/D39004/stoporders", headers=h.auth(token)).get_json()
    assert stop["endTime"] == "2023-11-14T23:13:20.0000000Z"
    assert stop["protectingSeconds"] == 15
    assert stop["exchangeOrderId"] is None
    assert stop["price"] == 0.0
    assert stop["volume"] == 2500.0  # at the trigger price, 10 shares a lot
