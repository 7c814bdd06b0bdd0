"""Bad input raises ValidationError before anything is sent (the transport refuses to send here)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import integrations
from integrations import Timeouts, ValidationError
from integrations.testing.inputs import BAD_TIMEOUTS
from integrations.transport import Response

GOOD_ORDER = dict(portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=1)


@pytest.fixture
def alor(no_requests):
    with integrations.connect("alor", credentials={"refresh_token": "not-used"}) as client:
        yield client
    # Not even authentication was attempted.
    assert no_requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0}, "depth"),
        ({"depth": 51}, "depth"),
        ({"depth": True}, "depth"),
        ({"depth": "20"}, "depth"),
        ({"format": "Fancy"}, "format"),
        ({"format": None}, "format"),
        ({"instrument_group": "TQ BR"}, "instrument_group"),
    ],
)
def test_orderbook_arguments(alor, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        alor.orderbook("MOEX", "SBER", **kwargs)


@pytest.mark.parametrize(
    ("exchange", "symbol"),
    [("MOEX", ""), ("MOEX", "SB ER"), ("MOEX", "../x"), ("MOEX", "SBER\n"), ("NYSE", "SBER"), ("MOEX", None)],
)
def test_orderbook_instrument(alor, exchange, symbol):
    with pytest.raises(ValidationError):
        alor.orderbook(exchange, symbol)


@pytest.mark.parametrize(
    "override",
    [
        {"quantity": 0},
        {"quantity": -1},
        {"quantity": 1.5},
        {"quantity": True},
        {"side": "hold"},
        {"side": ""},
        {"symbol": ""},
        {"portfolio": ""},
        {"portfolio": "D39004/../x"},
        {"comment": "x" * 101},
    ],
)
def test_market_order_arguments(alor, override):
    with pytest.raises(ValidationError):
        alor.market_order(**{**GOOD_ORDER, **override})


@pytest.mark.parametrize(
    "price",
    [
        0,
        -1,
        "abc",
        float("nan"),
        float("inf"),
        None,
        True,
        False,
        "1e400",  # was sent as Infinity
        "1e-400",  # was positive, and sent as 0.0
        Decimal("1e400"),
        Decimal("1e-400"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
        "-0",
        "0E-10",
        1e308,
        5e-324,
        10**400,
        "1e16",  # above the exponent range
        "1e-13",  # below it
        "1.000000000000000000001",  # 22 significant digits
        "123456789012345678901",
        "1" * 200,
        " ",
        "0x10",
        [250],
        b"250",
        dt.date(2023, 1, 1),
    ],
)
def test_limit_order_price(alor, price):
    with pytest.raises(ValidationError, match="price"):
        alor.limit_order(**GOOD_ORDER, price=price)


@pytest.mark.parametrize(
    ("price", "message"),
    [("1e400", "exponent"), ("1e-400", "exponent"), ("1.000000000000000000001", "significant digits")],
)
def test_limit_order_price_says_why(alor, price, message):
    with pytest.raises(ValidationError, match=message):
        alor.limit_order(**GOOD_ORDER, price=price)


@pytest.mark.parametrize(
    ("price", "sent"),
    [
        ("250.10", Decimal("250.10")),
        (250, Decimal(250)),
        (250.1, Decimal("250.1")),  # a float by its shortest repr, not its binary expansion
        (Decimal("0.000000000001"), Decimal("1E-12")),
        ("999999999999999.9", Decimal("999999999999999.9")),
        ("1234567890.123456789", Decimal("1234567890.123456789")),
        ("1.50000000000000000000000", Decimal("1.5")),  # trailing zeros are not significant
    ],
)
def test_limit_order_price_is_sent_as_a_decimal(monkeypatch, no_requests, price, sent):
    requests = []

    def call(request):
        requests.append(request)
        return Response(200, {}, b'{"orderNumber": "1", "message": "success"}', "https://x", 0.0)

    with integrations.connect("alor", credentials={"refresh_token": "not-used"}) as client:
        monkeypatch.setattr(client._client, "call", call)
        client.limit_order(**GOOD_ORDER, price=price)
    body_price = requests[0].json["price"]
    assert isinstance(body_price, Decimal)
    assert body_price == sent
    assert no_requests == []


@pytest.mark.parametrize(
    "override",
    [
        {"symbol": "SBER\n"},
        {"symbol": "SBER/../x"},
        {"symbol": "SB\x00ER"},
        {"symbol": ["SBER"]},
        {"portfolio": "D39004\n"},
        {"portfolio": 39004},
        {"exchange": "MOEX\n"},
        {"exchange": ["MOEX"]},
        {"side": "buy\n"},
        {"side": {"buy"}},
        {"quantity": 2**31},
        {"quantity": 10**400},
        {"quantity": "1"},
        {"instrument_group": "TQBR\n"},
        {"instrument_group": "../TQBR"},
        {"instrument_group": 5},
        {"comment": "a\x00b"},
        {"comment": "line\nbreak"},
        {"comment": "\ud800"},
        {"comment": 5},
        {"request_id": "abc\n"},  # was a retried TransportError (a header with a newline)
        {"request_id": ""},
        {"request_id": "x" * 129},
        {"request_id": "a b"},
        {"request_id": 5},
        {"request_id": b"abc"},
    ],
)
def test_order_arguments(alor, override):
    with pytest.raises(ValidationError):
        alor.market_order(**{**GOOD_ORDER, **override})
    with pytest.raises(ValidationError):
        alor.limit_order(**{**GOOD_ORDER, **override}, price="250.10")


def test_cancel_arguments(alor):
    with pytest.raises(ValidationError):
        alor.cancel_order("", portfolio="D39004", exchange="MOEX")
    with pytest.raises(ValidationError):
        alor.cancel_order("123", portfolio="D39004", exchange="MOEX", stop="yes")


@pytest.mark.parametrize(
    "order_number",
    [
        True,  # was sent as DELETE .../orders/True
        False,
        -1,
        0,
        "-",
        "0",
        "000",
        "-1",
        "12a",
        "abc",
        "1\n",
        "1/../2",
        "1 2",
        "\uff11\uff12",  # full-width digits are not decimal digits here
        "1" * 21,
        10**20,
        1.0,
        None,
        [1],
        b"123",
    ],
)
def test_cancel_order_number(alor, order_number):
    with pytest.raises(ValidationError, match="order_number"):
        alor.cancel_order(order_number, portfolio="D39004", exchange="MOEX")


def test_cancel_order_number_huge_int(alor):
    with pytest.raises(ValidationError, match="order_number"):
        alor.cancel_order(10**5000, portfolio="D39004", exchange="MOEX")


@pytest.mark.parametrize(
    "override",
    [
        {"portfolio": "D39004\n"},
        {"portfolio": None},
        {"exchange": "NYSE"},
        {"exchange": None},
        {"stop": 1},
        {"stop": None},
    ],
)
def test_cancel_other_arguments(alor, override):
    with pytest.raises(ValidationError):
        alor.cancel_order("123", **{"portfolio": "D39004", "exchange": "MOEX", **override})


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_timeout_on_every_method(alor, timeout):
    calls = [
        lambda: alor.orderbook("MOEX", "SBER", timeout=timeout),
        lambda: alor.market_order(**GOOD_ORDER, timeout=timeout),
        lambda: alor.limit_order(**GOOD_ORDER, price="250.10", timeout=timeout),
        lambda: alor.cancel_order("123", portfolio="D39004", exchange="MOEX", timeout=timeout),
        lambda: alor.request("GET", "/md/v2/time", timeout=timeout),
        lambda: alor.request("POST", "/md/v2/x", json={"a": 1}, timeout=timeout),
    ]
    for call in calls:
        with pytest.raises(ValidationError, match="timeout"):
            call()


def test_a_timeouts_object_is_checked_when_built():
    with pytest.raises(ValidationError, match="timeout"):
        Timeouts(connect=1, read=float("inf"))


def test_escape_hatch_arguments(alor):
    with pytest.raises(ValidationError):
        alor.request("PATCH", "/md/v2/time")
    with pytest.raises(ValidationError):
        alor.request("GET", "https://elsewhere.example/x")
    with pytest.raises(ValidationError):
        alor.request("GET", "/md/v2/time", service="nope")


@pytest.mark.parametrize(
    "path",
    [
        "/a/../../oauth/refresh",  # sent the Bearer token to the OAuth path
        "/md/v2/..",
        "/md/./v2",
        "/./md",
        "/a/%2e%2e/b",
        "/a/%2E./b",
        "/a/.%2e/b",
        "/a%2fb",
        "/a%2Fb",
        "/a%5cb",
        "//evil.example/x",
        "/md//v2",
        "/md/v2/time?x=1",
        "/md/v2/time#frag",
        "/md/v2/time\n",
        "/md/v2/\x00",
        "/md/v2/\x7f",
        "/md/v2/\x85",
        "/md/v2/time%0a",
        "/md/v2/time%00",
        "/md v2",
        "/md\\v2",
        "/md/\ud800",
        "md/v2/time",
        "",
        "/" + "a" * 3000,
        None,
        b"/md/v2/time",
        ["/md/v2/time"],
    ],
)
def test_escape_hatch_path(alor, path):
    with pytest.raises(ValidationError, match="path"):
        alor.request("GET", path)


@pytest.mark.parametrize("service", ["oauth2", "", "API", None, ["api"], {"api": 1}, 1])
def test_escape_hatch_service(alor, service):
    with pytest.raises(ValidationError, match="service"):
        alor.request("GET", "/md/v2/time", service=service)


@pytest.mark.parametrize("method", [None, "", "get\n", "PATCH", b"GET", ["GET"], 1])
def test_escape_hatch_method(alor, method):
    with pytest.raises(ValidationError, match="method"):
        alor.request(method, "/md/v2/time")


@pytest.mark.parametrize(
    "params",
    [
        {"a": float("nan")},
        {"a": float("inf")},
        {"a": Decimal("NaN")},
        {"a": Decimal("1e400")},
        {"a": dt.date(2023, 1, 1)},
        {"a": {1, 2}},
        {"a": object()},
        {"a": b"x"},
        {"a": {"nested": 1}},
        {"a": [[1]]},
        {"a": 10**30},
        {"a": "\ud800"},
        {1: "x"},
        {"": "x"},
        {"a\n": "x"},
        "a=1",
        [("a", 1)],
        5,
    ],
)
def test_escape_hatch_params(alor, params):
    with pytest.raises(ValidationError, match="params"):
        alor.request("GET", "/md/v2/time", params=params)


@pytest.mark.parametrize(
    "body",
    [
        {1, 2},  # raised TypeError
        frozenset(),
        {"a": float("nan")},
        {"a": [1, float("-inf")]},
        {"a": Decimal("Infinity")},
        {"a": Decimal("1e-400")},
        {"a": dt.date(2023, 1, 1)},
        {"a": dt.datetime(2023, 1, 1)},
        {"a": object()},
        {"a": b"bytes"},
        {"a": 10**5000},
        {1: "x"},
        {None: "x"},
        {("a",): "x"},
        {"a": "\udc80"},
        object(),
        b"{}",
        float("nan"),
        2**64,
    ],
)
def test_escape_hatch_json(alor, body):
    with pytest.raises(ValidationError, match="json"):
        alor.request("POST", "/commandapi/x", json=body)


def test_escape_hatch_json_too_deep(alor):
    body: list = []
    for _ in range(100):
        body = [body]
    with pytest.raises(ValidationError, match="nested"):
        alor.request("POST", "/commandapi/x", json=body)
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValidationError, match="nested"):
        alor.request("POST", "/commandapi/x", json=loop)


@pytest.mark.parametrize("retry", ["yes", 1, 0, [], "True"])
def test_escape_hatch_retry(alor, retry):
    with pytest.raises(ValidationError, match="retry"):
        alor.request("POST", "/commandapi/x", retry=retry)


@pytest.mark.parametrize(
    ("path", "params", "body"),
    [
        ("/md/v2/time", None, None),
        ("/md/v2/Securities/MOEX:SBER", {"format": "Simple", "depth": 5, "flag": True}, None),
        ("/md/v2/Clients/MOEX/D39004/orders/", {"ids": ["1", "2"], "price": Decimal("1.5")}, None),
        ("/md/v2/a%20b", {"q": "line\nbreak"}, None),
        ("/commandapi/x", None, {"a": [1, 2.5, Decimal("250.10"), None, True, "x"], "b": {"c": (1,)}}),
        ("/commandapi/x", None, []),
        ("/commandapi/x", None, {"a": -(2**63), "b": 2**64 - 1, "c": 1e300}),
    ],
)
def test_escape_hatch_valid_input_is_sent(no_requests, path, params, body):
    client = integrations.connect("alor", credentials={"refresh_token": "not-used"})
    with client, pytest.raises(AssertionError, match="a request was sent"):
        client.request("POST" if body is not None else "GET", path, params=params, json=body, retry=True)
    assert len(no_requests) == 1  # the refresh: validation passed


def test_validation_error_is_a_value_error():
    assert issubclass(ValidationError, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"contour": "staging"}, integrations.ConfigurationError),
        ({"credentials": {}}, integrations.ConfigurationError),
        ({"credentials": {"refresh_token": ""}}, integrations.ConfigurationError),
        ({"base_urls": {"nope": "http://127.0.0.1:1"}}, integrations.ConfigurationError),
        ({"base_urls": {"api": "ftp://x"}}, integrations.ConfigurationError),
        ({"timeout": -1}, ValidationError),
    ],
)
def test_connect_arguments(kwargs, error, no_requests):
    kwargs = {"credentials": {"refresh_token": "abc"}, **kwargs}
    with pytest.raises(error):
        integrations.connect("alor", **kwargs)
    assert no_requests == []


def test_unknown_provider():
    with pytest.raises(integrations.ConfigurationError, match="unknown provider 'nope'"):
        integrations.connect("nope", credentials={})
