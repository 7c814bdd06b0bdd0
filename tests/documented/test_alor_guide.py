"""The ALOR guide's own examples (docs/seeds/000_7e6c39d725dd83d6.txt, "Старт в Тестовом контуре"),
each stored verbatim: every documented reply goes through the public typed method and gives its
documented values, and every documented request is compared with what the client sends.

The replies are served by the live sandbox through its fault control (``Fault.respond``), so they
travel the whole real path: HTTP, the call hook, the error mapping, the models.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict
from urllib.parse import parse_qs

from integrations.sandbox import Fault
from integrations.testing.shapes import json_shape

# The guides' examples, verbatim, one file each (their sources: tests/documented/examples/README.md).
EXAMPLES = Path(__file__).resolve().parents[1] / "documented" / "examples"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


# "Шаг 4. Получение Access Токена": the request (the refresh token is in the URL).
REFRESH_REQUEST = "https://oauthdev.alor.ru/refresh?token=3ee46c97-1da6-451b-b4f6-520e774dd2a8"
# "Шаг 4. Получение Access Токена": the reply.
REFRESH_REPLY = example("alor/refresh_reply.json")

# "Шаг 5. Отправка запросов", order book: the request, with its query parameters.
ORDERBOOK_REQUEST = "https://apidev.alor.ru/md/v2/orderbooks/MOEX/SBER?depth=1&format=Simple"
# "Шаг 5. Отправка запросов", order book: the reply.
ORDERBOOK_REPLY = example("alor/orderbook_reply.json")

# "Создание рыночной заявки": the request's URL and body (headers: Authorization, X-ALOR-REQID).
MARKET_ORDER_REQUEST = "https://apidev.alor.ru/commandapi/warptrans/TRADE/v2/client/orders/actions/market"
MARKET_ORDER_BODY = example("alor/market_order_body.json")
# "Создание рыночной заявки": the reply (the order number is elided in the guide itself).
MARKET_ORDER_REPLY = example("alor/market_order_reply.json")

ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders/actions/market"
JSON = {"Content-Type": "application/json"}


def shape(value: Any) -> Any:
    return json_shape(value)


# -- replies through the typed methods ----------------------------------------------------------


def test_the_refresh_reply_gives_the_documented_account(alor_sandbox, alor_live):
    alor_sandbox.faults.add(Fault.respond(200, JSON, REFRESH_REPLY, service="oauth", path="/refresh"))
    account = alor_live.account
    assert account.login == "LoginSample"
    assert account.client_id == "0123456"
    assert account.portfolios == ("PortfolioSample1", "PortfolioSample2", "PortfolioSample3")
    assert account.agreements == ("AgreementSample1", "AgreementSample2", "AgreementSample3")
    assert account.expires_at == 2871763199
    assert dt.datetime.fromtimestamp(account.expires_at, dt.timezone.utc).year == 2060


def test_the_order_book_reply_gives_the_documented_levels(alor_sandbox, alor_live):
    alor_live.orderbook("MOEX", "SBER", depth=1)  # logged in against the sandbox
    alor_sandbox.faults.add(Fault.respond(200, JSON, ORDERBOOK_REPLY, path="/md/v2/orderbooks/MOEX/SBER"))
    book = alor_live.orderbook("MOEX", "SBER", depth=1, format="Simple")
    assert [(level.price, level.volume) for level in book.bids] == [(Decimal("281.98"), 36)]
    assert [(level.price, level.volume) for level in book.asks] == [(Decimal("281.99"), 11)]
    assert book.ms_timestamp == 1701105939395
    assert book.existing is True


def test_the_market_order_reply_gives_the_documented_order_number(alor_sandbox, alor_live):
    portfolio = alor_live.portfolios[0]
    alor_sandbox.faults.add(Fault.respond(200, JSON, MARKET_ORDER_REPLY, path=ORDERS))
    ack = alor_live.market_order(portfolio=portfolio, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
    assert (ack.order_number, ack.message) == ("409...153", "success")


# -- requests as documented ---------------------------------------------------------------------


def _query(text: str) -> Dict[str, Any]:
    return {key: values[0] for key, values in parse_qs(text).items()}


def test_the_order_book_request_is_the_documented_one(alor_sandbox, alor_live):
    alor_live.orderbook("MOEX", "SBER", depth=1, format="Simple")
    sent = alor_sandbox.requests()[-1]
    documented_path, documented_query = ORDERBOOK_REQUEST.split("apidev.alor.ru", 1)[1].split("?")
    assert (sent.method, sent.path) == ("GET", documented_path)
    assert _query(sent.query) == _query(documented_query)
    assert sent.headers["Authorization"].startswith("Bearer ey")  # Bearer <Token>


def test_the_market_order_request_is_the_documented_one(alor_sandbox, alor_live):
    documented = json.loads(MARKET_ORDER_BODY)
    user = documented["user"]["portfolio"]
    assert user in alor_live.portfolios  # the sandbox's account owns the guide's portfolio
    alor_live.market_order(
        portfolio=user, exchange="MOEX", symbol="SBER", side="buy", quantity=1, comment=documented["comment"]
    )
    sent = alor_sandbox.requests()[-1]
    assert (sent.method, sent.path) == ("POST", MARKET_ORDER_REQUEST.split("apidev.alor.ru", 1)[1])
    assert sent.headers["Authorization"].startswith("Bearer ey")
    assert sent.headers["X-ALOR-REQID"]  # the guide's header (the spec's newer X-REQID is sent too)
    assert sent.headers["X-REQID"] == sent.headers["X-ALOR-REQID"]
    assert sent.json() == documented  # every field, name, type and value (the comment is Cyrillic)
    assert shape(sent.json()) == shape(documented)


def test_the_refresh_request_carries_the_token_in_the_body_not_the_url(alor_sandbox, alor_live):
    # A deliberate deviation from the guide (README, design notes): the guide puts the refresh token
    # in the URL, where proxies and access logs keep it; the spec's body form carries it instead.
    alor_live.orderbook("MOEX", "SBER", depth=1)
    sent = next(r for r in alor_sandbox.requests() if r.service == "oauth")
    documented_path = REFRESH_REQUEST.split("oauthdev.alor.ru", 1)[1].split("?")[0]
    assert (sent.method, sent.path, sent.query) == ("POST", documented_path, "")
    assert set(sent.json()) == set(_query(REFRESH_REQUEST.split("?")[1]))  # {"token"}
    assert sent.json()["token"] == alor_sandbox.credentials["refresh_token"]
