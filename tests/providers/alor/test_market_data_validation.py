"""ALOR market-data methods: bad input raises ValidationError when the method is called (the
iterators too, before their first item), and nothing is sent (the transport refuses to send here)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

import pytest

import integrations
from integrations import ValidationError
from integrations.testing.inputs import BAD_TIMEOUTS

UTC = dt.timezone.utc
T0 = 1_780_000_000
T1 = T0 + 3600


@pytest.fixture
def alor(no_requests):
    with integrations.connect("alor", credentials={"refresh_token": "not-used"}) as client:
        yield client
    # Not even authentication was attempted.
    assert no_requests == []


def _raises(call: Callable[[], Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        call()


BAD_EXCHANGES = ["NYSE", "", None, 1, "MOEX "]
BAD_SYMBOLS = ["", "SB ER", "../x", "SBER\n", None, 5, "x" * 51]
BAD_FORMATS = ["Fancy", None, 1]
BAD_PAGE_SIZES = [0, -1, 1.5, True, "10", 50_001]
BAD_LIMITS = [-1, 1.5, True, "10"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        *[({"page_size": v}, "page_size") for v in BAD_PAGE_SIZES],
        *[({"limit": v}, "limit") for v in BAD_LIMITS],
        *[({"format": v}, "format") for v in BAD_FORMATS],
        *[({"exchange": v}, "exchange") for v in ["NYSE", "", 1]],
        ({"sector": "MOON"}, "sector"),
        ({"sector": 1}, "sector"),
        ({"cficode": "ES XX"}, "cficode"),
        ({"instrument_group": "TQ BR"}, "instrument_group"),
        ({"include_non_base_boards": "yes"}, "include_non_base_boards"),
        ({"query": "a b"}, "query"),
        ({"query": 5}, "query"),
    ],
)
def test_securities(alor, kwargs, message):
    _raises(lambda: alor.securities(**kwargs), message)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        *[((v,), {}, "exchange") for v in BAD_EXCHANGES],
        (("MOEX",), {"market": "MOON"}, "market"),
        (("MOEX",), {"include_old": 1}, "include_old"),
        (("MOEX",), {"include_non_base_boards": "true"}, "include_non_base_boards"),
        *[(("MOEX",), {"page_size": v}, "page_size") for v in BAD_PAGE_SIZES],
        *[(("MOEX",), {"limit": v}, "limit") for v in BAD_LIMITS],
        *[(("MOEX",), {"format": v}, "format") for v in BAD_FORMATS],
    ],
)
def test_exchange_securities(alor, args, kwargs, message):
    _raises(lambda: alor.exchange_securities(*args, **kwargs), message)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        *[((v, "SBER"), {}, "exchange") for v in BAD_EXCHANGES],
        *[(("MOEX", v), {}, "symbol") for v in BAD_SYMBOLS],
        (("MOEX", "SBER"), {"instrument_group": "TQ BR"}, "instrument_group"),
        *[(("MOEX", "SBER"), {"format": v}, "format") for v in BAD_FORMATS],
    ],
)
def test_security(alor, args, kwargs, message):
    _raises(lambda: alor.security(*args, **kwargs), message)


@pytest.mark.parametrize(
    ("symbols", "message"),
    [
        ("MOEX:SBER", "symbols"),  # a bare string, not a list of them
        ([], "symbols"),
        (["SBER"], "symbols"),
        (["MOEX:SBER:X"], "symbols"),
        (["NYSE:SBER"], "exchange"),
        (["MOEX:SB ER"], "symbol"),
        ([("MOEX",)], "symbols"),
        ([("MOEX", "SBER", "X")], "symbols"),
        ([("NYSE", "SBER")], "exchange"),
        ([("MOEX", None)], "symbol"),
        ([None], "symbols"),
        (None, "symbols"),
        (5, "symbols"),
        (["MOEX:SBER"] * 201, "symbols"),
    ],
)
def test_quotes(alor, symbols, message):
    _raises(lambda: alor.quotes(symbols), message)


def test_quotes_format(alor):
    _raises(lambda: alor.quotes(["MOEX:SBER"], format="Fancy"), "format")


NAIVE = dt.datetime(2026, 5, 1, 12, 0)
BAD_TIMES = [NAIVE, -1, 1.5, True, "1780000000", 10**13, dt.date(2026, 5, 1)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        *[({"from_": v}, "from_") for v in BAD_TIMES],
        *[({"to": v}, "to") for v in BAD_TIMES],
        ({"from_": T1, "to": T0}, "from_"),
        ({"from_": dt.datetime.fromtimestamp(T1, UTC), "to": T0}, "from_"),
        ({"from_id": -1}, "from_id"),
        ({"from_id": "12a"}, "from_id"),
        ({"to_id": 2**63}, "to_id"),
        ({"from_id": 10, "to_id": 9}, "from_id"),
        ({"qty_from": -1}, "qty_from"),
        ({"qty_to": 1.5}, "qty_to"),
        ({"qty_from": 5, "qty_to": 4}, "qty_from"),
        ({"price_from": "abc"}, "price"),
        ({"price_to": Decimal("-1")}, "price"),
        ({"price_from": Decimal("10"), "price_to": Decimal("9")}, "price_from"),
        ({"side": "hold"}, "side"),
        ({"descending": "yes"}, "descending"),
        ({"descending": None}, "descending"),
        ({"instrument_group": "TQ BR"}, "instrument_group"),
        *[({"page_size": v}, "page_size") for v in BAD_PAGE_SIZES],
        *[({"limit": v}, "limit") for v in BAD_LIMITS],
        *[({"format": v}, "format") for v in BAD_FORMATS],
    ],
)
def test_all_trades(alor, kwargs, message):
    _raises(lambda: alor.all_trades("MOEX", "SBER", **kwargs), message)


@pytest.mark.parametrize(("exchange", "symbol"), [("NYSE", "SBER"), ("MOEX", ""), ("MOEX", "../x")])
def test_all_trades_instrument(alor, exchange, symbol):
    with pytest.raises(ValidationError):
        alor.all_trades(exchange, symbol)
    with pytest.raises(ValidationError):
        alor.all_trades_history(exchange, symbol)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        *[({"from_": v}, "from_") for v in BAD_TIMES],
        *[({"to": v}, "to") for v in BAD_TIMES],
        ({"from_": T1, "to": T0}, "from_"),
        *[({"page_size": v}, "page_size") for v in BAD_PAGE_SIZES],
        *[({"limit": v}, "limit") for v in BAD_LIMITS],
        *[({"format": v}, "format") for v in BAD_FORMATS],
        ({"instrument_group": "TQ BR"}, "instrument_group"),
    ],
)
def test_all_trades_history(alor, kwargs, message):
    _raises(lambda: alor.all_trades_history("MOEX", "SBER", **kwargs), message)


GOOD_RANGE = {"from_": T0, "to": T1}
BAD_TIMEFRAMES = [0, -60, 31_536_001, 1.5, True, None, "", "H", "1m", "D1", "-60", "0", "9" * 12]


@pytest.mark.parametrize("method", ["candles", "iter_candles"])
@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        *[(("MOEX", "SBER", tf), GOOD_RANGE, "tf") for tf in BAD_TIMEFRAMES],
        *[((v, "SBER", 60), GOOD_RANGE, "exchange") for v in BAD_EXCHANGES],
        *[(("MOEX", v, 60), GOOD_RANGE, "symbol") for v in BAD_SYMBOLS],
        (("MOEX", "SBER", 60), {"from_": T1, "to": T0}, "from_"),
        (("MOEX", "SBER", 60), {"from_": T0, "to": None}, "required"),
        (("MOEX", "SBER", 60), {"from_": None, "to": T1}, "required"),
        *[(("MOEX", "SBER", 60), {"from_": v, "to": T1}, "from_") for v in BAD_TIMES],
        *[(("MOEX", "SBER", 60), {"from_": T0, "to": v}, "to") for v in BAD_TIMES],
        (("MOEX", "SBER", 60), {**GOOD_RANGE, "untraded": "yes"}, "untraded"),
        (("MOEX", "SBER", 60), {**GOOD_RANGE, "split_adjust": 1}, "split_adjust"),
        (("MOEX", "SBER", 60), {**GOOD_RANGE, "instrument_group": "TQ BR"}, "instrument_group"),
        *[(("MOEX", "SBER", 60), {**GOOD_RANGE, "format": v}, "format") for v in BAD_FORMATS],
    ],
)
def test_candles(alor, method, args, kwargs, message):
    _raises(lambda: getattr(alor, method)(*args, **kwargs), message)


@pytest.mark.parametrize("count_back", [0, -1, 1.5, True, "3", 2**31])
def test_candles_count_back(alor, count_back):
    _raises(lambda: alor.candles("MOEX", "SBER", 60, **GOOD_RANGE, count_back=count_back), "count_back")


@pytest.mark.parametrize("limit", BAD_LIMITS)
def test_iter_candles_limit(alor, limit):
    _raises(lambda: alor.iter_candles("MOEX", "SBER", 60, **GOOD_RANGE, limit=limit), "limit")


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        *[((v,), {}, "risk_category_id") for v in [-1, 1.5, True, "5", None, 2**31]],
        ((5,), {"exchange": "NYSE"}, "exchange"),
        ((5,), {"ticker": "SB ER"}, "ticker"),
        ((5,), {"search": "a/b"}, "search"),
        *[((5,), {"page_size": v}, "page_size") for v in BAD_PAGE_SIZES],
        *[((5,), {"limit": v}, "limit") for v in BAD_LIMITS],
    ],
)
def test_risk_rates(alor, args, kwargs, message):
    _raises(lambda: alor.risk_rates(*args, **kwargs), message)


CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "securities": lambda a, t: a.securities(timeout=t),
    "exchange_securities": lambda a, t: a.exchange_securities("MOEX", timeout=t),
    "security": lambda a, t: a.security("MOEX", "SBER", timeout=t),
    "quotes": lambda a, t: a.quotes(["MOEX:SBER"], timeout=t),
    "all_trades": lambda a, t: a.all_trades("MOEX", "SBER", timeout=t),
    "all_trades_history": lambda a, t: a.all_trades_history("MOEX", "SBER", timeout=t),
    "candles": lambda a, t: a.candles("MOEX", "SBER", 60, **GOOD_RANGE, timeout=t),
    "iter_candles": lambda a, t: a.iter_candles("MOEX", "SBER", 60, **GOOD_RANGE, timeout=t),
    "server_time": lambda a, t: a.server_time(timeout=t),
    "risk_rates": lambda a, t: a.risk_rates(5, timeout=t),
}


@pytest.mark.parametrize("method", sorted(CALLS))
@pytest.mark.parametrize("timeout", BAD_TIMEOUTS)
def test_timeouts(alor, method, timeout):
    with pytest.raises(ValidationError):
        CALLS[method](alor, timeout)
