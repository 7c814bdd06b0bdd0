"""The account reads refuse bad input with ValidationError before anything is sent (the transport
refuses to send here, and the fixture checks that nothing was even attempted)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Dict, Tuple

import pytest

import integrations
from integrations import ValidationError
from integrations.testing.inputs import BAD_TIMEOUTS

P = "D39004"


@pytest.fixture
def alor(no_requests):
    with integrations.connect("alor", credentials={"refresh_token": "not-used"}) as client:
        yield client
    # Not even authentication was attempted.
    assert no_requests == []


# Each method with good arguments: (positional args, keyword args).
GOOD: Dict[str, Tuple[Tuple[Any, ...], Dict[str, Any]]] = {
    "positions": ((P,), {"exchange": "MOEX"}),
    "position": ((P, "SBER"), {"exchange": "MOEX"}),
    "all_positions": ((), {"login": "P039004"}),
    "summary": ((P,), {"exchange": "MOEX"}),
    "risk": ((P,), {"exchange": "MOEX"}),
    "forts_risk": (("750039004",), {}),
    "trades": ((P,), {"exchange": "MOEX"}),
    "symbol_trades": ((P, "SBER"), {"exchange": "MOEX"}),
    "history_trades": ((P,), {"exchange": "MOEX"}),
    "orders": ((P,), {"exchange": "MOEX"}),
    "order": ((P, "18995978560"), {"exchange": "MOEX"}),
    "stop_orders": ((P,), {"exchange": "MOEX"}),
    "get_stop_order": ((P, 347499), {"exchange": "MOEX"}),
}
WITH_PORTFOLIO = [name for name, (args, _) in GOOD.items() if args]
WITH_EXCHANGE = [name for name, (_, kwargs) in GOOD.items() if "exchange" in kwargs]


def call(alor: Any, name: str, args: Tuple[Any, ...] = (), **override: Any) -> Any:
    good_args, good_kwargs = GOOD[name]
    result = getattr(alor, name)(*(args or good_args), **{**good_kwargs, **override})
    return result


@pytest.mark.parametrize("name", WITH_PORTFOLIO)
@pytest.mark.parametrize("portfolio", ["", "D 39004", "D39004/../x", "x" * 33, None, 39004, "D39004\n"])
def test_portfolio_on_every_method(alor, name, portfolio):
    args = (portfolio, *GOOD[name][0][1:])
    with pytest.raises(ValidationError, match="portfolio"):
        call(alor, name, args)


@pytest.mark.parametrize("name", WITH_EXCHANGE)
@pytest.mark.parametrize("exchange", ["NYSE", "", None, 1, "MOEX "])
def test_exchange_on_every_method(alor, name, exchange):
    with pytest.raises(ValidationError, match="exchange"):
        call(alor, name, exchange=exchange)


@pytest.mark.parametrize("name", list(GOOD))
@pytest.mark.parametrize("fmt", ["Fat", "", None, 1, "Simple "])
def test_format_on_every_method(alor, name, fmt):
    with pytest.raises(ValidationError, match="format"):
        call(alor, name, format=fmt)


@pytest.mark.parametrize("name", list(GOOD))
@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_timeout_on_every_method(alor, name, timeout):
    with pytest.raises(ValidationError):
        call(alor, name, timeout=timeout)


@pytest.mark.parametrize("name", ["position", "symbol_trades"])
@pytest.mark.parametrize("symbol", ["", "SB ER", "../x", "SBER\n", None, 1, "S" * 51])
def test_symbol(alor, name, symbol):
    with pytest.raises(ValidationError, match="symbol"):
        call(alor, name, (P, symbol))


@pytest.mark.parametrize("name", ["order", "get_stop_order"])
@pytest.mark.parametrize("order_id", ["", "abc", "12a", "0", 0, -1, True, None, 1.5, 10**20, "1" * 21])
def test_order_id(alor, name, order_id):
    with pytest.raises(ValidationError, match="order_number"):
        call(alor, name, (P, order_id))


@pytest.mark.parametrize("login", ["", "P 039004", "P039004/x", 39004, "x" * 33])  # None: the JWT's
def test_all_positions_login(alor, login):
    with pytest.raises(ValidationError, match="login"):
        alor.all_positions(login=login)


@pytest.mark.parametrize(
    ("name", "flag"),
    [("positions", "without_currency"), ("all_positions", "without_currency"), ("trades", "with_repo")],
)
@pytest.mark.parametrize("value", ["true", 1, 0, "yes"])
def test_flags(alor, name, flag, value):
    with pytest.raises(ValidationError, match=flag):
        call(alor, name, **{flag: value})


@pytest.mark.parametrize("group", ["", "TQ BR", "TQBR/x", 5])
def test_symbol_trades_instrument_group(alor, group):
    with pytest.raises(ValidationError, match="instrument_group"):
        alor.symbol_trades(P, "SBER", instrument_group=group)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 1001}, "page_size"),
        ({"page_size": True}, "page_size"),
        ({"page_size": "10"}, "page_size"),
        ({"page_size": None}, "page_size"),
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": False}, "limit"),
        ({"side": "hold"}, "side"),
        ({"side": ""}, "side"),
        ({"date_from": "2024-01-01"}, "date_from"),
        ({"date_from": dt.datetime(2024, 1, 1)}, "date_from"),  # naive: which zone?
        ({"date_from": 1704067200}, "date_from"),
        ({"ticker": "SB ER"}, "ticker"),
        ({"ticker": ""}, "ticker"),
        ({"symbol": "../x"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"descending": "yes"}, "descending"),
        ({"descending": 1}, "descending"),
        ({"instrument_group": "TQ BR"}, "instrument_group"),
    ],
)
def test_history_trades_arguments_are_checked_at_the_call(alor, override, message):
    # Checked when history_trades is called, not when its first item is asked for.
    with pytest.raises(ValidationError, match=message):
        alor.history_trades(P, **override)


def test_history_trades_with_good_arguments_sends_nothing_until_iterated(alor):
    trades = alor.history_trades(
        P,
        symbol="SBER",
        date_from=dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=3))),
        ticker="SBER",
        side="BUY",
        descending=True,
        instrument_group="TQBR",
        page_size=1000,
        limit=5,
    )
    assert iter(trades) is trades  # an iterator; the fixture checks that nothing was sent


BAD_CALLS: Dict[str, Callable[[Any], Any]] = {
    "forts_risk: portfolio": lambda a: a.forts_risk(""),
    "summary: portfolio": lambda a: a.summary(None),
    "risk: portfolio": lambda a: a.risk("D39004 "),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_single_portfolio_methods(alor, case):
    with pytest.raises(ValidationError, match="portfolio"):
        BAD_CALLS[case](alor)
