"""The ALOR sandbox answers like the documented contour: each documented example, stored verbatim,
is compared structurally (keys in order, nesting, JSON value types) with the sandbox's live answer
over HTTP, through plain ``requests`` against ``integrations.sandbox.running("alor")``.

Sources: the getting-started guide (docs/seeds/000_7e6c39d725dd83d6.txt, "Старт в Тестовом контуре")
and the official spec ``WarpOpenAPIv2.yml`` (alor-broker/OpenAPI.SDK), as summarised in
docs/reference/alor-api.md. Every error answer of the sandbox is in ``ERRORS``
(plugins/integrations_alor/sandbox.py); the last test sends each one's situation and compares.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import pytest
import requests

from integrations import sandbox
from integrations.runtime import ManualClock
from integrations.testing.shapes import json_shape
from integrations_alor.sandbox import ERRORS, error_table_markdown
from integrations_alor.sandbox_account import ACCOUNT_ERRORS
from integrations_alor.sandbox_commands import COMMANDS_ERRORS
from integrations_alor.sandbox_common import CORE_ERRORS
from integrations_alor.sandbox_data import INSTRUMENTS
from integrations_alor.sandbox_market import MARKET_ERRORS

T0 = 1_701_105_939.395
ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders"
TIMEOUT = (2.0, 5.0)

# -- the documented examples, verbatim ------------------------------------------------------------

# The guide, "Шаг 4. Получение Access Токена": the answer of POST https://oauthdev.alor.ru/refresh?token=...
# The guides' examples, verbatim, one file each (their sources: tests/documented/examples/README.md).
EXAMPLES = Path(__file__).resolve().parents[2] / "documented" / "examples"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


GUIDE_REFRESH_REPLY = example("alor/refresh_reply.json")

# The guide, "Шаг 5. Отправка запросов", order book: the answer of
# GET https://apidev.alor.ru/md/v2/orderbooks/MOEX/SBER?depth=1&format=Simple
GUIDE_ORDERBOOK_REPLY = example("alor/orderbook_reply.json")

# The guide, "Шаг 5. Отправка запросов", "Создание рыночной заявки": the request body of
# POST https://apidev.alor.ru/commandapi/warptrans/TRADE/v2/client/orders/actions/market
GUIDE_MARKET_ORDER_BODY = example("alor/market_order_body.json")
# ... and its answer.
GUIDE_MARKET_ORDER_REPLY = example("alor/market_order_reply.json")

# docs/reference/alor-api.md §4, "Example, Heavy format" (the spec's example OrderBook_Heavy).
SPEC_HEAVY_ORDERBOOK = """{"bids":[{"price":281.98,"volume":36}],"asks":[{"price":281.99,"volume":11}],"msTimestamp":1701105939395,"existing":true}"""
# The spec WarpOpenAPIv2.yml, components/examples/OrderBook_Common_Slim (docs/reference/alor-api.md §4:
# Slim keys b, a, t, h; levels p, v).
SPEC_SLIM_ORDERBOOK = """{"b":[{"p":281.98,"v":36}],"a":[{"p":281.99,"v":11}],"t":1701105939395,"h":true}"""
# The spec WarpOpenAPIv2.yml, components/examples/OrderBook_Bonds_Slim (docs/reference/alor-api.md §4:
# "plus y (yield; bonds only)").
SPEC_SLIM_BOND_ORDERBOOK = """{"b":[{"p":70.589,"v":146,"y":16.21}],"a":[{"p":70.772,"v":10,"y":16.14}],"t":1721372266417,"h":false}"""
# The spec's 400 answer shape for commands (docs/reference/alor-api.md §5, "Other 400 errors": JSON with
# at least message, sometimes code); an order refused for another market is one of them.
SPEC_400_MESSAGE_ONLY = """{"message": "Invalid or unsupported quantity"}"""


# -- the structural comparison ----------------------------------------------------------------------


def shape(value: Any) -> Any:
    """The order of keys counts here: the sandbox writes them in the documented order."""
    return json_shape(value, key_order=True)


def jwt_json(token: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The header and payload of a JWT, decoded (base64url JSON, signature not checked)."""

    def part(text: str) -> Dict[str, Any]:
        decoded: Dict[str, Any] = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return decoded

    header, payload, _ = token.split(".")
    return part(header), part(payload)


# -- a live sandbox ----------------------------------------------------------------------------------


class Live:
    def __init__(self, sb: Any, http: requests.Session) -> None:
        self.sb = sb
        self.http = http
        self.oauth = sb.base_urls["oauth"]
        self.api = sb.base_urls["api"]
        self._token: Optional[str] = None
        self._ids = 0

    def refresh(self, **kwargs: Any) -> requests.Response:
        return self.http.post(self.oauth + "/refresh", timeout=TIMEOUT, **kwargs)

    @property
    def token(self) -> str:
        if self._token is None:
            answer = self.refresh(params={"token": self.sb.credentials["refresh_token"]})
            self._token = str(answer.json()["AccessToken"])
        return self._token

    def auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, auth: bool = True, **params: Any) -> requests.Response:
        headers = self.auth() if auth else {}
        return self.http.get(self.api + path, params=params, headers=headers, timeout=TIMEOUT)

    def new_id(self) -> str:
        self._ids += 1
        return f"shape-{self._ids}"

    def command(
        self,
        kind: str,
        body: Any,
        reqid: Optional[str] = "new",
        header: str = "X-REQID",
        raw: Optional[bytes] = None,
    ) -> requests.Response:
        headers = {**self.auth(), "Content-Type": "application/json"}
        if reqid is not None:
            headers[header] = self.new_id() if reqid == "new" else reqid
        data = raw if raw is not None else json.dumps(body).encode()
        return self.http.post(
            f"{self.api}{ORDERS}/actions/{kind}", data=data, headers=headers, timeout=TIMEOUT
        )

    def cancel(self, order_id: str, **params: str) -> requests.Response:
        return self.http.delete(
            f"{self.api}{ORDERS}/{order_id}", params=params, headers=self.auth(), timeout=TIMEOUT
        )


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with sandbox.running("alor", seed=5, clock=ManualClock(T0)) as sb, requests.Session() as http:
        yield Live(sb, http)


def order(symbol: str = "SBER", portfolio: str = "D39004", **extra: Any) -> Dict[str, Any]:
    return {
        "side": "buy",
        "quantity": 1,
        "instrument": {"symbol": symbol, "exchange": "MOEX"},
        "user": {"portfolio": portfolio},
        **extra,
    }


# -- the guide's examples ---------------------------------------------------------------------------


def test_refresh_answer_is_the_guides(live: Live) -> None:
    # As in the guide, the refresh token goes in the query.
    answer = live.refresh(params={"token": live.sb.credentials["refresh_token"]})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    guide = json.loads(GUIDE_REFRESH_REPLY)
    assert shape(answer.json()) == shape(guide)
    header, payload = jwt_json(answer.json()["AccessToken"])
    guide_header, guide_payload = jwt_json(guide["AccessToken"])
    # Exactly the guide's header and claims: keys in order, value types (strings; exp and iat ints).
    assert shape(header) == shape(guide_header)
    assert shape(payload) == shape(guide_payload)
    # The one deliberate deviation is the algorithm (ES256 signatures are randomised).
    assert {**header, "alg": "ES256"} == guide_header
    for claim in ("ent", "scope", "iss", "aud"):
        assert payload[claim] == guide_payload[claim]


def test_orderbook_simple_is_the_guides(live: Live) -> None:
    answer = live.get("/md/v2/orderbooks/MOEX/SBER", depth=1, format="Simple")
    assert answer.status_code == 200
    body = answer.json()
    assert shape(body) == shape(json.loads(GUIDE_ORDERBOOK_REPLY))
    assert len(body["bids"]) == len(body["asks"]) == 1
    assert body["ms_timestamp"] == int(T0 * 1000)
    assert body["timestamp"] == body["ms_timestamp"] // 1000


def test_market_order_answer_is_the_guides(live: Live) -> None:
    # The guide's body verbatim, with the guide's header X-ALOR-REQID.
    answer = live.command("market", None, header="X-ALOR-REQID", raw=GUIDE_MARKET_ORDER_BODY.encode())
    assert answer.status_code == 200
    body = answer.json()
    assert shape(body) == shape(json.loads(GUIDE_MARKET_ORDER_REPLY))
    assert body["message"] == "success"
    assert body["orderNumber"].isdigit()


def test_cancel_success_is_plain_text(live: Live) -> None:
    placed = live.command("limit", order(price=250.5)).json()["orderNumber"]
    answer = live.cancel(placed, portfolio="D39004", exchange="MOEX", stop="false")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.content == b"success"


# -- the spec's order-book formats ------------------------------------------------------------------


def test_orderbook_heavy_is_the_specs(live: Live) -> None:
    for depth in (1, 20):
        body = live.get("/md/v2/orderbooks/MOEX/SBER", depth=depth, format="Heavy").json()
        assert shape(body) == shape(json.loads(SPEC_HEAVY_ORDERBOOK))


def test_orderbook_slim_is_the_specs_and_bonds_carry_the_yield(live: Live) -> None:
    common, bond = json.loads(SPEC_SLIM_ORDERBOOK), json.loads(SPEC_SLIM_BOND_ORDERBOOK)
    bonds = [i for i in INSTRUMENTS if i.board in ("TQOB", "TQCB")]
    assert {i.board for i in bonds} == {"TQOB", "TQCB"}
    for inst in INSTRUMENTS:
        body = live.get(f"/md/v2/orderbooks/{inst.exchange}/{inst.symbol}", depth=3, format="Slim").json()
        assert shape(body) == shape(bond if inst in bonds else common), inst.symbol


def test_default_depth_is_the_specs(live: Live) -> None:
    body = live.get("/md/v2/orderbooks/MOEX/SBER").json()
    assert len(body["bids"]) == len(body["asks"]) == 20
    assert shape(body) == shape(json.loads(GUIDE_ORDERBOOK_REPLY))  # Simple is the default format
    assert len(live.get("/md/v2/orderbooks/MOEX/SBER", depth=50).json()["asks"]) == 50


# -- portfolios trade their own market ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("symbol", "portfolio"),
    [("SBER", "G39004"), ("SBER", "750039004"), ("SiZ6", "D39004"), ("USD000UTSTOM", "750039004")],
)
def test_an_order_for_another_market_is_refused_in_the_specs_shape(
    live: Live, symbol: str, portfolio: str
) -> None:
    answer = live.command("market", order(symbol, portfolio))
    assert answer.status_code == 400
    assert shape(answer.json()) == shape(json.loads(SPEC_400_MESSAGE_ONLY))
    assert portfolio in answer.json()["message"]


# -- every error answer in the table is what the sandbox sends ---------------------------------------

Trigger = Callable[[Live], Tuple[requests.Response, Dict[str, str]]]


def _repeat(live: Live) -> Tuple[requests.Response, Dict[str, str]]:
    reqid = live.new_id()
    live.command("limit", order(price=250.5), reqid=reqid)
    return live.command("limit", order(price=250.5), reqid=reqid), {"header": "X-REQID"}


TRIGGERS: Dict[str, Trigger] = {
    "refresh_rejected": lambda s: (s.refresh(params={"token": "not-a-refresh-token"}), {}),
    "refresh_body_not_json": lambda s: (
        s.refresh(data=b"{nope", headers={"Content-Type": "application/json"}),
        {},
    ),
    "refresh_allowed_portfolios_malformed": lambda s: (
        s.refresh(json={"token": s.sb.credentials["refresh_token"], "allowedPortfolios": "D39004"}),
        {},
    ),
    "refresh_allowed_portfolios_foreign": lambda s: (
        s.refresh(json={"token": s.sb.credentials["refresh_token"], "allowedPortfolios": ["D39005"]}),
        {},
    ),
    "route_not_found": lambda s: (s.get("/md/v2/nothing/here"), {}),
    "method_not_allowed": lambda s: (s.http.post(s.api + "/md/v2/time", timeout=TIMEOUT), {}),
    "unauthorized": lambda s: (s.get("/md/v2/orderbooks/MOEX/SBER", auth=False), {}),
    "portfolio_forbidden": lambda s: (s.command("market", order(portfolio="D39005")), {}),
    "depth_out_of_range": lambda s: (s.get("/md/v2/orderbooks/MOEX/SBER", depth=51), {}),
    "format_unknown": lambda s: (s.get("/md/v2/orderbooks/MOEX/SBER", format="Fat"), {}),
    "exchange_unknown": lambda s: (s.get("/md/v2/orderbooks/NYSE/SBER"), {"exchange": "NYSE"}),
    "symbol_unknown": lambda s: (s.get("/md/v2/orderbooks/MOEX/NOSUCH"), {}),
    "request_id_missing": lambda s: (s.command("market", order(), reqid=None), {}),
    "request_id_repeated": _repeat,
    "body_not_json": lambda s: (s.command("market", None, raw=b"{nope"), {}),
    "portfolio_missing": lambda s: (s.command("market", {**order(), "user": {}}), {}),
    "side_invalid": lambda s: (s.command("market", order(side="hold")), {}),
    "quantity_invalid": lambda s: (s.command("market", order(quantity=0)), {}),
    "comment_invalid": lambda s: (s.command("market", order(comment="x" * 101)), {}),
    "time_in_force_invalid": lambda s: (s.command("market", order(timeInForce="forever")), {}),
    "instrument_missing": lambda s: (s.command("market", {**order(), "instrument": {"symbol": "SBER"}}), {}),
    "instrument_unknown": lambda s: (
        s.command("market", order("NOSUCH")),
        {"exchange": "MOEX", "symbol": "NOSUCH"},
    ),
    "market_mismatch": lambda s: (
        s.command("market", order("SBER", "G39004")),
        {"portfolio": "G39004", "market": "FOND", "exchange": "MOEX", "symbol": "SBER"},
    ),
    "price_invalid": lambda s: (s.command("limit", order()), {}),
    "stop_condition_invalid": lambda s: (s.command("stop", order(triggerPrice=250)), {}),
    "protecting_seconds_invalid": lambda s: (
        s.command("stop", order(triggerPrice=250, condition="less", protectingSeconds=0)),
        {},
    ),
    "cancel_parameters_missing": lambda s: (s.cancel("1", exchange="MOEX", stop="false"), {}),
    "cancel_stop_invalid": lambda s: (s.cancel("1", portfolio="D39004", exchange="MOEX"), {}),
    "cancel_not_found": lambda s: (s.cancel("424242", portfolio="D39004", exchange="MOEX", stop="false"), {}),
    "cancel_all_nothing": lambda s: (s.cancel("all", portfolio="D39014", exchange="MOEX"), {}),
    "order_not_found": lambda s: (s.get("/md/v2/Clients/MOEX/D39004/orders/1"), {}),
}


def test_every_error_answer_has_a_trigger_here() -> None:
    # The core's answers are triggered here; each part's own, in its test module
    # (test_account.py, test_commands.py, test_market_data.py).
    assert list(TRIGGERS) == list(CORE_ERRORS)
    assert list(ERRORS) == [*CORE_ERRORS, *ACCOUNT_ERRORS, *COMMANDS_ERRORS, *MARKET_ERRORS]
    assert all(answer.source in ("spec", "assumption") for answer in ERRORS.values())
    table = error_table_markdown()
    assert table.count("\n") == len(ERRORS) + 1


@pytest.mark.parametrize("key", list(CORE_ERRORS))
def test_each_error_answer_is_what_the_sandbox_sends(live: Live, key: str) -> None:
    documented = ERRORS[key]
    answer, fields = TRIGGERS[key](live)
    assert answer.status_code == documented.status
    if documented.body is None:
        assert answer.content == b""
        assert "Content-Type" not in answer.headers
        return
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    expected = dict(documented.body)
    expected["message"] = str(expected["message"]).format(**fields)
    body = answer.json()
    if key == "request_id_repeated":
        assert list(body) == ["message", "oldResponse"]
        assert body["message"] == expected["message"]
        assert body["oldResponse"]["statusCode"] == 200
        assert shape(body["oldResponse"]["body"]) == shape(json.loads(GUIDE_MARKET_ORDER_REPLY))
        return
    assert body == expected
    assert list(body) == list(expected)
