"""Bad input to the order commands of issue 13 raises ValidationError before anything is sent (the
transport refuses to send here, and not even authentication is attempted)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Dict

import pytest

import integrations
from integrations import ValidationError
from integrations.testing.inputs import BAD_TIMEOUTS

ORDER: Dict[str, Any] = dict(portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=1)
STOP: Dict[str, Any] = dict(ORDER, condition="more", trigger_price=Decimal("300"))
STOP_LIMIT: Dict[str, Any] = dict(STOP, price=Decimal("301"))
LIMIT: Dict[str, Any] = dict(ORDER, price=Decimal("280"))
ESTIMATE: Dict[str, Any] = dict(portfolio="D39004", exchange="MOEX", symbol="SBER", lot_quantity=1)


@pytest.fixture
def alor(no_requests):
    with integrations.connect("alor", credentials={"refresh_token": "not-used"}) as client:
        yield client
    assert no_requests == []


def _call(alor: Any, method: str, kwargs: Dict[str, Any]) -> Any:
    if method.startswith("modify_"):
        return getattr(alor, method)("18995978560", **kwargs)
    return getattr(alor, method)(**kwargs)


# Every command's good arguments, and the arguments each of them shares.
COMMANDS = {
    "stop_order": STOP,
    "stop_limit_order": STOP_LIMIT,
    "modify_market_order": ORDER,
    "modify_limit_order": LIMIT,
    "modify_stop_order": STOP,
    "modify_stop_limit_order": STOP_LIMIT,
}
COMMON_BAD = [
    ({"quantity": 0}, "quantity"),
    ({"quantity": 2**31}, "quantity"),
    ({"quantity": True}, "quantity"),
    ({"quantity": 1.0}, "quantity"),
    ({"side": "hold"}, "side"),
    ({"side": None}, "side"),
    ({"symbol": "SB ER"}, "symbol"),
    ({"symbol": "../orders"}, "symbol"),
    ({"exchange": "NYSE"}, "exchange"),
    ({"portfolio": "D39004\n"}, "portfolio"),
    ({"portfolio": ""}, "portfolio"),
    ({"comment": "x" * 101}, "comment"),
    ({"comment": "bad\x00"}, "comment"),
    ({"instrument_group": "TQ BR"}, "instrument_group"),
    ({"allow_margin": "true"}, "allow_margin"),
    ({"allow_margin": 1}, "allow_margin"),
    ({"request_id": "has space"}, "request_id"),
    ({"request_id": ""}, "request_id"),
]
STOP_BAD = [
    ({"condition": "above"}, "condition"),
    ({"condition": None}, "condition"),
    ({"trigger_price": 0}, "trigger_price"),
    ({"trigger_price": "NaN"}, "trigger_price"),
    ({"trigger_price": float("inf")}, "trigger_price"),
    ({"trigger_price": True}, "trigger_price"),
    ({"stop_end": dt.datetime(2030, 1, 1)}, "stop_end"),  # naive
    ({"stop_end": 0}, "stop_end"),
    ({"stop_end": 10**12}, "stop_end"),
    ({"stop_end": 1.5e9}, "stop_end"),
    ({"stop_end": "2030-01-01"}, "stop_end"),
    ({"protecting_seconds": 0}, "protecting_seconds"),
    ({"protecting_seconds": 301}, "protecting_seconds"),
    ({"protecting_seconds": True}, "protecting_seconds"),
    ({"activate": None}, "activate"),
    ({"activate": "yes"}, "activate"),
]
PRICE_BAD = [
    ({"price": 0}, "price"),
    ({"price": -1}, "price"),
    ({"price": "abc"}, "price"),
    ({"price": None}, "price"),
    ({"price": Decimal("1e-400")}, "price"),
]


@pytest.mark.parametrize("method", list(COMMANDS))
@pytest.mark.parametrize(("override", "message"), COMMON_BAD)
def test_every_command_checks_the_common_arguments(alor, method, override, message):
    with pytest.raises(ValidationError, match=message):
        _call(alor, method, {**COMMANDS[method], **override})


@pytest.mark.parametrize(
    "method", ["stop_order", "stop_limit_order", "modify_stop_order", "modify_stop_limit_order"]
)
@pytest.mark.parametrize(("override", "message"), STOP_BAD)
def test_stop_commands_check_the_stop_arguments(alor, method, override, message):
    with pytest.raises(ValidationError, match=message):
        _call(alor, method, {**COMMANDS[method], **override})


@pytest.mark.parametrize("method", ["stop_limit_order", "modify_limit_order", "modify_stop_limit_order"])
@pytest.mark.parametrize(("override", "message"), PRICE_BAD)
def test_limit_commands_check_the_price(alor, method, override, message):
    with pytest.raises(ValidationError, match=message):
        _call(alor, method, {**COMMANDS[method], **override})


@pytest.mark.parametrize(
    ("method", "override", "message"),
    [
        ("stop_limit_order", {"time_in_force": "forever"}, "time_in_force"),
        ("stop_limit_order", {"time_in_force": 1}, "time_in_force"),
        ("modify_market_order", {"time_in_force": "gtc"}, "time_in_force"),
        ("modify_stop_limit_order", {"time_in_force": ""}, "time_in_force"),
        ("stop_limit_order", {"iceberg_fixed": 0}, "iceberg_fixed"),
        ("stop_limit_order", {"iceberg_variance": -1}, "iceberg_variance"),
        ("stop_limit_order", {"iceberg_variance": 1.5}, "iceberg_variance"),
        ("modify_limit_order", {"iceberg_fixed": True}, "iceberg_fixed"),
        ("modify_stop_limit_order", {"iceberg_fixed": -5}, "iceberg_fixed"),
    ],
)
def test_time_in_force_and_iceberg_fields(alor, method, override, message):
    with pytest.raises(ValidationError, match=message):
        _call(alor, method, {**COMMANDS[method], **override})


@pytest.mark.parametrize("method", [m for m in COMMANDS if m.startswith("modify_")])
@pytest.mark.parametrize("number", ["", "0", "abc", "12 3", "1/2", -1, 0, 10**20, True, None, 1.5])
def test_modify_checks_the_order_number(alor, method, number):
    with pytest.raises(ValidationError, match="order_number"):
        getattr(alor, method)(number, **COMMANDS[method])


@pytest.mark.parametrize("method", list(COMMANDS))
@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_every_command_checks_its_timeout(alor, method, timeout):
    with pytest.raises(ValidationError):
        _call(alor, method, {**COMMANDS[method], "timeout": timeout})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"portfolio": "D 39004"}, "portfolio"),
        ({"exchange": "moex!"}, "exchange"),
        ({"exchange": None}, "exchange"),
        ({"stop": "true"}, "stop"),
        ({"stop": 1}, "stop"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_cancel_all_orders_arguments(alor, kwargs, message):
    with pytest.raises(ValidationError, match=message):
        alor.cancel_all_orders(**{"portfolio": "D39004", "exchange": "MOEX", **kwargs})


ESTIMATE_BAD = [
    ({"portfolio": ""}, "portfolio"),
    ({"symbol": "SB/ER"}, "symbol"),
    ({"exchange": "LSE"}, "exchange"),
    ({"price": 0}, "price"),
    ({"price": "x"}, "price"),
    ({"lot_quantity": 0}, "lot_quantity"),
    ({"lot_quantity": "1"}, "lot_quantity"),
    ({"budget": -5}, "budget"),
    ({"budget": True}, "budget"),
    ({"budget": 100}, "not both"),  # with lot_quantity
    ({"board": "TQ BR"}, "board"),
    ({"include_limit_orders": "no"}, "include_limit_orders"),
]


@pytest.mark.parametrize(("override", "message"), ESTIMATE_BAD)
def test_estimate_order_arguments(alor, override, message):
    with pytest.raises(ValidationError, match=message):
        alor.estimate_order(**{**ESTIMATE, **override})


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_estimate_order_timeout(alor, timeout):
    with pytest.raises(ValidationError):
        alor.estimate_order(**ESTIMATE, timeout=timeout)


@pytest.mark.parametrize(("override", "message"), ESTIMATE_BAD)
def test_estimate_orders_checks_every_order_and_names_it(alor, override, message):
    with pytest.raises(ValidationError, match=rf"orders\[1\]: .*{message}"):
        alor.estimate_orders([ESTIMATE, {**ESTIMATE, **override}])


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([], "non-empty"),
        (None, "non-empty"),
        (ESTIMATE, "non-empty"),  # one dict, not a list of them
        ("orders", "non-empty"),
        ([ESTIMATE, "SBER"], r"orders\[1\] must be a dict"),
        ([{**ESTIMATE, "quantity": 1}], "unknown argument"),
        ([{"portfolio": "D39004", "exchange": "MOEX"}], "needs portfolio, exchange and symbol"),
    ],
)
def test_estimate_orders_list(alor, orders, message):
    with pytest.raises(ValidationError, match=message):
        alor.estimate_orders(orders)


def test_estimate_orders_timeout(alor):
    with pytest.raises(ValidationError):
        alor.estimate_orders([ESTIMATE], timeout="soon")
