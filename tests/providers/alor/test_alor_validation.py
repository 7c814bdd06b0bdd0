"""Bad input raises ValidationError before anything is sent (the transport refuses to send here)."""

from __future__ import annotations

import pytest

import integrations
from integrations import ValidationError

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


@pytest.mark.parametrize("price", [0, -1, "abc", float("nan"), float("inf"), None, True])
def test_limit_order_price(alor, price):
    with pytest.raises(ValidationError, match="price"):
        alor.limit_order(**GOOD_ORDER, price=price)


def test_cancel_arguments(alor):
    with pytest.raises(ValidationError):
        alor.cancel_order("", portfolio="D39004", exchange="MOEX")
    with pytest.raises(ValidationError):
        alor.cancel_order("123", portfolio="D39004", exchange="MOEX", stop="yes")


def test_escape_hatch_arguments(alor):
    with pytest.raises(ValidationError):
        alor.request("PATCH", "/md/v2/time")
    with pytest.raises(ValidationError):
        alor.request("GET", "https://elsewhere.example/x")
    with pytest.raises(ValidationError):
        alor.request("GET", "/md/v2/time", service="nope")


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
