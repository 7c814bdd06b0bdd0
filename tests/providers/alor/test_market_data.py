"""ALOR market data (issue 13): replayed from cassettes recorded against the sandbox, then against
the live sandbox (paging laziness, the simulated market's determinism and consistency), then the
emulator's market-data error answers at the WSGI level.

Re-record with ``pytest --integrations-record-mode=rewrite --integrations-only
tests/providers/alor/test_market_data.py``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any, Optional

import attrs
import pytest
from werkzeug.test import Client

from integrations import NotFound
from integrations.runtime import ManualClock
from integrations_alor.models_market import AllTrade, Candle, Candles, Quote, RiskRate, Security
from integrations_alor.sandbox import AlorEmulator
from integrations_alor.sandbox_common import ERRORS
from integrations_alor.sandbox_data import INSTRUMENTS
from integrations_alor.sandbox_market import EPOCH, MARKET_ERRORS, MAX_CANDLES

UTC = dt.timezone.utc
FORMATS = ("Simple", "Slim", "Heavy")
SBER = next(i for i in INSTRUMENTS if i.symbol == "SBER")


def _window(now: float, seconds: int, tf: int = 300) -> tuple[int, int]:
    """A window of whole candles ending at least a candle before now."""
    end = int(now) // tf * tf - tf
    return end - seconds, end - 1


# -- replayed from cassettes ---------------------------------------------------------------------


def test_securities_search_pages_lazily_through_the_results(integrations_session):
    with integrations_session("alor") as s:
        found = list(s.client.securities("S", page_size=2, limit=5))
        futures = list(s.client.securities(sector="FORTS", exchange="MOEX"))
    assert len(found) == 5
    assert all(isinstance(sec, Security) and "S" in sec.symbol.upper() for sec in found)
    assert len({sec.symbol for sec in found}) == 5  # pages do not overlap
    assert futures and all(sec.market == "FORTS" and sec.board == "RFUD" for sec in futures)


def test_exchange_securities_by_market(integrations_session):
    with integrations_session("alor") as s:
        everything = list(s.client.exchange_securities("MOEX", page_size=10))
        currency = list(s.client.exchange_securities("MOEX", market="CURR"))
    assert len(everything) > 10  # more than one page
    assert {sec.exchange for sec in everything} == {"MOEX"}
    assert currency and {sec.market for sec in currency} == {"CURR"}
    assert {sec.symbol for sec in currency} <= {sec.symbol for sec in everything}


def test_security_is_the_same_model_in_every_wire_format(integrations_session):
    with integrations_session("alor") as s:
        found = {fmt: s.client.security("MOEX", "SiZ6", format=fmt) for fmt in FORMATS}
    simple = found["Simple"]
    assert simple.symbol == "SiZ6" and simple.board == "RFUD" and simple.market == "FORTS"
    assert isinstance(simple.min_step, Decimal) and simple.price_min < simple.price_max
    assert simple.cancellation is not None and simple.cancellation.tzinfo is not None
    assert found["Heavy"] == simple
    # The spec's Slim Security has no market: everything else is the same.
    assert found["Slim"] == attrs.evolve(simple, market=None)


def test_unknown_security_is_not_found(integrations_session):
    with integrations_session("alor") as s, pytest.raises(NotFound) as info:
        s.client.security("MOEX", "NOSUCH")
    assert info.value.status == 404


def test_quotes_in_every_wire_format(integrations_session):
    with integrations_session("alor") as s:
        found = {fmt: s.client.quotes(["MOEX:SBER", ("MOEX", "SiZ6")], format=fmt) for fmt in FORMATS}
        now = s.clock.now()
    simple = found["Simple"]
    assert [q.symbol for q in simple] == ["SBER", "SiZ6"]
    for quote in simple:
        assert isinstance(quote, Quote)
        assert quote.bid is not None and quote.ask is not None and quote.bid < quote.ask
        assert quote.low_price <= quote.last_price <= quote.high_price
        assert quote.prev_close_price is not None
        assert quote.change == quote.last_price - quote.prev_close_price
        assert quote.last_price_time is not None and quote.last_price_time.timestamp() <= now
    assert found["Heavy"] == simple
    # Slim has no previous close and no change: every other field is the same.
    assert found["Slim"] == tuple(
        attrs.evolve(q, prev_close_price=None, change=None, change_percent=None) for q in simple
    )


def test_all_trades_page_and_filter(integrations_session):
    with integrations_session("alor") as s:
        start, end = _window(s.clock.now(), 1800)
        trades = list(s.client.all_trades("MOEX", "SBER", from_=start, to=end, page_size=20))
        buys = list(s.client.all_trades("MOEX", "SBER", from_=start, to=end, side="buy", qty_from=10))
        newest = list(s.client.all_trades("MOEX", "SBER", from_=start, to=end, descending=True, limit=5))
    assert len(trades) > 20  # several pages
    assert all(isinstance(t, AllTrade) for t in trades)
    times = [t.time for t in trades]
    assert times == sorted(times) and start <= times[0].timestamp() and times[-1].timestamp() < end + 1
    assert len({t.id for t in trades}) == len(trades) and all(t.id.isdigit() for t in trades)
    assert buys == [t for t in trades if t.side == "buy" and t.qty >= 10]
    assert newest == trades[::-1][:5]


def test_all_trades_history_pages_through_total(integrations_session):
    with integrations_session("alor") as s:
        today = dt.datetime.fromtimestamp(s.clock.now(), UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        start = int(today.timestamp()) - 2 * 3600
        trades = list(s.client.all_trades_history("MOEX", "GAZP", from_=start, page_size=100, limit=250))
    assert len(trades) == 250
    assert all(start <= t.time.timestamp() < today.timestamp() for t in trades)
    assert [int(t.id) for t in trades] == sorted(int(t.id) for t in trades)


def test_candles_are_the_same_model_in_every_wire_format(integrations_session):
    with integrations_session("alor") as s:
        start, end = _window(s.clock.now(), 3600)
        found = {
            fmt: s.client.candles("MOEX", "SBER", 300, from_=start, to=end, format=fmt) for fmt in FORMATS
        }
    simple = found["Simple"]
    assert isinstance(simple, Candles) and len(simple.candles) == 12
    assert found["Slim"] == simple == found["Heavy"]
    assert simple.prev is not None and simple.prev.timestamp() == start - 300
    assert simple.next is not None and simple.next.timestamp() == end + 1
    for candle in simple.candles:
        assert isinstance(candle, Candle) and candle.time.timestamp() % 300 == 0
        assert candle.low <= min(candle.open, candle.close) <= max(candle.open, candle.close) <= candle.high


@pytest.mark.parametrize("tf", [15, 60, 300, 3600, "D", "W", "M", "Y"])
def test_candles_of_every_timeframe(integrations_session, tf):
    with integrations_session("alor") as s:
        now = int(s.clock.now())
        span = 20 * tf if isinstance(tf, int) else 4 * 86400
        page = s.client.candles("MOEX", "GAZP", tf, from_=now - span, to=now, count_back=3)
    assert len(page.candles) >= 1
    times = [c.time for c in page.candles]
    assert times == sorted(set(times))
    assert all(c.volume > 0 and c.low <= c.high for c in page.candles)
    if isinstance(tf, int):
        assert all(t.timestamp() % tf == 0 for t in times)
    if tf == "D":
        assert all(t.hour == t.minute == 0 for t in times)


def test_iter_candles_follows_next(integrations_session):
    with integrations_session("alor") as s:
        start = int(s.clock.now()) // 60 * 60 - 86400
        end = start + (MAX_CANDLES + 20) * 60 - 1
        candles = list(s.client.iter_candles("MOEX", "SBER", 60, from_=start, to=end))
    # More than one answer holds (the sandbox sends at most MAX_CANDLES); every minute of the
    # window trades, so each of its minute candles is there, once, in order.
    assert len(candles) == MAX_CANDLES + 20
    assert [c.time.timestamp() for c in candles] == list(range(start, end, 60))


def test_server_time_is_the_clock(integrations_session):
    with integrations_session("alor") as s:
        when = s.client.server_time()
        now = s.clock.now()
    assert when.tzinfo is not None
    assert abs(when.timestamp() - now) <= 1


def test_risk_rates_page(integrations_session):
    with integrations_session("alor") as s:
        rates = list(s.client.risk_rates(5, page_size=4, limit=10))
        sber = list(s.client.risk_rates(5, ticker="SBER"))
        none = list(s.client.risk_rates(999))
    assert len(rates) == 10 and all(isinstance(r, RiskRate) and r.risk_category_id == 5 for r in rates)
    assert len({r.id for r in rates}) == 10
    assert [r.instrument for r in sber] == ["SBER"] and sber[0].rate_up > 0
    assert none == []


# -- against the live sandbox --------------------------------------------------------------------


def _requests_to(sb: Any, suffix: str) -> int:
    return sum(1 for r in sb.requests() if r.path.lower().endswith(suffix.lower()))


def test_paging_iterators_fetch_lazily(alor_sandbox, alor_live, clock):
    start = int(clock.now()) - 3 * 3600
    trades = alor_live.all_trades("MOEX", "SBER", from_=start, page_size=10)
    securities = alor_live.securities(page_size=4)
    rates = alor_live.risk_rates(5, page_size=3)
    history = alor_live.all_trades_history("MOEX", "SBER", page_size=7)
    candles = alor_live.iter_candles("MOEX", "SBER", 15, from_=start - 86400, to=start)
    assert _requests_to(alor_sandbox, "/alltrades") == 0  # nothing is sent before the first item
    assert len(list(itertools.islice(trades, 25))) == 25
    assert _requests_to(alor_sandbox, "/alltrades") == 3  # 10 + 10 + 5 of the third page
    assert len(list(itertools.islice(securities, 5))) == 5
    assert _requests_to(alor_sandbox, "/md/v2/Securities") == 2
    assert next(rates) is not None
    assert _requests_to(alor_sandbox, "/risk/rates") == 1
    assert len(list(itertools.islice(history, 14))) == 14
    assert _requests_to(alor_sandbox, "/alltrades/history") == 2
    assert len(list(itertools.islice(candles, MAX_CANDLES))) == MAX_CANDLES
    assert _requests_to(alor_sandbox, "/md/v2/history") == 1
    next(candles)
    assert _requests_to(alor_sandbox, "/md/v2/history") == 2


def test_the_simulated_price_is_deterministic_and_moves_with_the_clock(clock):
    t = clock.now()
    first = AlorEmulator(seed=3, clock=clock)
    clock.advance(5000)  # a sandbox started later sees the same path
    second = AlorEmulator(seed=3, clock=ManualClock(clock.now()))
    other = AlorEmulator(seed=4, clock=clock)
    times = [t + 600 * k for k in range(48)]
    path = [first.market.last_price(SBER, at) for at in times]
    assert path == [second.market.last_price(SBER, at) for at in times]
    assert path != [other.market.last_price(SBER, at) for at in times]
    assert len(set(path)) > 5  # it moves
    band = first.market.path(SBER)
    for price in path:
        assert price % SBER.step == 0
        assert band.lo * SBER.step <= price <= band.hi * SBER.step
    # With no time given, the price is the clock's: advancing the clock moves it along the path.
    before = first.market.last_price(SBER)
    assert before == first.market.last_price(SBER, clock.now())
    clock.advance(6 * 3600)
    assert first.market.last_price(SBER) == first.market.last_price(SBER, clock.now())
    # Before the epoch's first trade the price is the book's mid (rounded to the step).
    book = first._market[("MOEX", "SBER")]
    mid = (book.bids[0][0] + book.asks[0][0]) / 2
    assert abs(first.market.last_price(SBER, EPOCH - 10) - mid) <= SBER.step / 2
    assert first.market.last_price(SBER, EPOCH - 10) == first.market.last_price(SBER, EPOCH)


def test_last_price_is_the_last_trade(alor_live, clock):
    start, end = _window(clock.now(), 600, tf=60)
    trades = list(alor_live.all_trades("MOEX", "SBER", from_=start, to=end))
    emulator_prices = [t.price for t in trades]
    assert emulator_prices
    quote = alor_live.quotes(["MOEX:SBER"])[0]
    latest = list(
        alor_live.all_trades("MOEX", "SBER", from_=int(clock.now()) - 300, descending=True, limit=1)
    )
    assert quote.last_price == latest[0].price


def test_candles_agree_with_all_trades(alor_live, clock):
    for tf in (60, 300, 900):
        start, end = _window(clock.now(), 2 * 3600, tf=tf)
        trades = list(alor_live.all_trades("MOEX", "GAZP", from_=start, to=end))
        candles = list(alor_live.iter_candles("MOEX", "GAZP", tf, from_=start, to=end))
        assert len(candles) == 2 * 3600 // tf
        for candle in candles:
            t0 = candle.time.timestamp()
            inside = [t for t in trades if t0 <= t.time.timestamp() < t0 + tf]
            assert inside, candle
            assert candle.open == inside[0].price and candle.close == inside[-1].price
            assert candle.high == max(t.price for t in inside) and candle.low == min(t.price for t in inside)
            assert candle.volume == sum(t.qty for t in inside)
        assert sum(c.volume for c in candles) == sum(t.qty for t in trades)


def test_quotes_follow_the_day(alor_live, clock):
    if clock.now() % 86400 < 3600:
        clock.advance(3600)  # today has trades already
    now = clock.now()
    day = int(now) // 86400 * 86400
    quote = alor_live.quotes([("MOEX", "LKOH")])[0]
    daily = alor_live.candles("MOEX", "LKOH", "D", from_=day - 86400, to=day)
    yesterday, today = daily.candles
    assert quote.prev_close_price == yesterday.close
    assert quote.open_price == today.open and quote.high_price == today.high and quote.low_price == today.low
    assert quote.volume == today.volume


# -- the emulator's market-data error answers and routes ----------------------------------------


class _Api:
    def __init__(self) -> None:
        self.clock = ManualClock(float(EPOCH + 40 * 86400))
        self.emu = AlorEmulator(seed=5, clock=self.clock)
        apps = self.emu.wsgi_apps()
        refresh = Client(apps["oauth"]).post(
            "/refresh", query_string={"token": self.emu.credentials()["refresh_token"]}
        )
        self.token = refresh.json["AccessToken"]
        self.client = Client(apps["api"])

    def get(self, path: str, token: Optional[str] = "", **query: Any) -> Any:
        headers = {} if token is None else {"Authorization": f"Bearer {token or self.token}"}
        return self.client.get(path, query_string=query, headers=headers)


@pytest.fixture
def api() -> _Api:
    return _Api()


def _expected(key: str, **fields: Any) -> tuple[int, Any]:
    answer = ERRORS[key]
    body = (
        None if answer.body is None else {**answer.body, "message": answer.body["message"].format(**fields)}
    )
    return answer.status, body


def _check(response: Any, key: str, **fields: Any) -> None:
    status, body = _expected(key, **fields)
    assert response.status_code == status
    if body is None:
        assert response.get_data() == b""
    else:
        assert response.json == body


HISTORY = {
    "symbol": "SBER",
    "exchange": "MOEX",
    "tf": "60",
    "from": EPOCH + 39 * 86400,
    "to": EPOCH + 40 * 86400,
}


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/md/v2/history", {**HISTORY, "tf": "7X"}, "tf"),
        ("/md/v2/history", {**HISTORY, "from": HISTORY["to"] + 1}, "from"),
        ("/md/v2/history", {**HISTORY, "format": "Fancy"}, "format"),
        ("/md/v2/history", {**HISTORY, "exchange": "NYSE"}, "exchange"),
        ("/md/v2/Securities", {"limit": "-1"}, "limit"),
        ("/md/v2/Securities", {"sector": "MOON"}, "sector"),
        ("/md/v2/Securities/NYSE", {}, "exchange"),
        ("/md/v2/Securities/MOEX", {"market": "MOON"}, "market"),
        ("/md/v2/Securities/MOEX/SBER/alltrades", {"take": "x"}, "take"),
        ("/md/v2/Securities/MOEX/SBER/alltrades", {"side": "hold"}, "side"),
        ("/md/v2/Securities/MOEX/SBER/alltrades/history", {"limit": "50001"}, "limit"),
        ("/md/v2/Securities/SBER:MOEX,GAZP/quotes", {}, "symbols"),
        ("/md/v2/risk/rates", {"riskCategoryId": "five"}, "riskCategoryId"),
    ],
)
def test_md_parameter_invalid(api, path, query, name):
    _check(api.get(path, **query), "md_parameter_invalid", name=name)


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/md/v2/history", {k: v for k, v in HISTORY.items() if k != "symbol"}, "symbol"),
        ("/md/v2/history", {k: v for k, v in HISTORY.items() if k != "tf"}, "tf"),
        ("/md/v2/history", {k: v for k, v in HISTORY.items() if k != "from"}, "from"),
        ("/md/v2/Securities/MOEX/SBER/alltrades/history", {}, "limit"),
        ("/md/v2/risk/rates", {}, "riskCategoryId"),
    ],
)
def test_md_parameter_missing(api, path, query, name):
    _check(api.get(path, **query), "md_parameter_missing", name=name)


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/md/v2/Securities/MOEX/NOSUCH", {}),
        ("/md/v2/Securities/MOEX/SBER", {"instrumentGroup": "RFUD"}),
        ("/md/v2/Securities/MOEX/NOSUCH/alltrades", {}),
        ("/md/v2/Securities/MOEX/NOSUCH/alltrades/history", {"limit": "5"}),
        ("/md/v2/history", {**HISTORY, "symbol": "NOSUCH"}),
    ],
)
def test_security_not_found(api, path, query):
    _check(api.get(path, **query), "security_not_found")


def test_market_error_keys_are_in_the_table():
    assert set(MARKET_ERRORS) <= set(ERRORS)
    assert all(answer.source in ("spec", "assumption") and answer.reason for answer in MARKET_ERRORS.values())


def test_quotes_route_does_not_shadow_the_security_route(api):
    quotes = api.get("/md/v2/Securities/MOEX:SBER/quotes")
    security = api.get("/md/v2/Securities/MOEX/SBER")
    lower = api.get("/md/v2/securities/moex/sber")
    assert quotes.status_code == security.status_code == lower.status_code == 200
    assert isinstance(quotes.json, list) and quotes.json[0]["symbol"] == "SBER"
    assert security.json["symbol"] == "SBER" and lower.json == security.json
    assert api.get("/md/v2/time").json == int(api.clock.now())  # the existing route still answers


def test_anonymous_endpoints_lag_and_others_need_a_token(api):
    anonymous = api.get("/md/v2/Securities/MOEX:SBER/quotes", token=None)
    assert anonymous.status_code == 200
    assert anonymous.json[0]["last_price_timestamp"] <= api.clock.now() - 900
    assert api.get("/md/v2/Securities", token=None, query="SBER").status_code == 200
    assert api.get("/md/v2/risk/rates", token=None, riskCategoryId="5").status_code == 200
    history = api.get("/md/v2/history", token=None, **{**HISTORY, "to": int(api.clock.now())})
    assert history.status_code == 200
    assert history.json["history"][-1]["time"] <= api.clock.now() - 900
    _check(api.get("/md/v2/Securities/MOEX:SBER/quotes", token="forged.token.value"), "unauthorized")
    for path in (
        "/md/v2/Securities/MOEX",
        "/md/v2/Securities/MOEX/SBER",
        "/md/v2/Securities/MOEX/SBER/alltrades",
    ):
        _check(api.get(path, token=None), "unauthorized")


def test_unknown_quote_pairs_are_left_out(api):
    answer = api.get("/md/v2/Securities/MOEX:SBER,MOEX:NOSUCH,SPBX:AAPL/quotes")
    assert [q["symbol"] for q in answer.json] == ["SBER", "AAPL"]


# -- the models read the spec's examples and their documented variants ---------------------------

# WarpOpenAPIv2.yml, components/examples Security_Simple and Security_Slim (abridged to the fields
# the model reads): "cancellation" has no Z; Slim has no market.
SPEC_SECURITY_SIMPLE = (
    '{"symbol":"CNY-6.25","shortname":"CRM5","description":"CRM5","exchange":"MOEX","market":"FORTS",'
    '"type":"Фьючерсный контракт CNY-6.25","lotsize":1,"facevalue":1000,"cfiCode":"FFXCSX",'
    '"cancellation":"2025-06-19T00:00:00.0000000","minstep":0.001,"marginbuy":986.39,"marginsell":1004.16,'
    '"pricestep":1,"priceMax":11.868,"priceMin":10.774,"currency":"RUB","ISIN":null,"board":"RFUD",'
    '"primary_board":"RFUD","tradingStatus":17,"tradingStatusInfo":"нормальный период торгов",'
    '"complexProductCategory":"2","priceMultiplier":1}'
)
SPEC_SECURITY_SLIM = (
    '{"sym":"CNY-6.25","n":"CRM5","desc":"CRM5","ex":"MOEX","t":"Фьючерсный контракт CNY-6.25","lot":1,'
    '"fv":1000,"cfi":"FFXCSX","stp":0.001,"cncl":"2025-06-19T00:00:00.0000000","mgb":986.39,"mgs":1004.16,'
    '"stppx":1,"pxmx":11.868,"pxmn":10.774,"pxmu":1,"cur":"RUB","isin":null,"bd":"RFUD","pbd":"RFUD",'
    '"st":17,"sti":"нормальный период торгов","cpct":"2"}'
)
# components/examples AllTrades_Simple and AllTrades_Slim: an int64 id, orderno 0.
SPEC_ALL_TRADE_SIMPLE = (
    '{"id":159,"orderno":0,"symbol":"SBER","board":"TQBR","qty":1,"price":142.52,'
    '"time":"2018-08-07T08:40:03.445Z","timestamp":1611158710768,"side":"buy","oi":523920,"existing":false}'
)
SPEC_ALL_TRADE_SLIM = (
    '{"id":159,"sym":"SBER","bd":"TQBR","q":1,"px":142.52,"t":1611158710768,"s":"buy","oi":523920,"h":false}'
)
# components/examples History_Simple and History_Slim.
SPEC_HISTORY_SIMPLE = (
    '{"history":[{"time":1701068400,"close":287.79,"open":287.41,"high":287.9,"low":287,"volume":174466}],'
    '"next":1701069000,"prev":1701068100}'
)
SPEC_HISTORY_SLIM = (
    '{"h":[{"t":1701068400,"c":287.79,"o":287.41,"h":287.9,"l":287,"v":174466}],'
    '"next":1701069000,"prev":1701068100}'
)


def _decoded(text: str) -> Any:
    import json

    return json.loads(text, parse_float=Decimal)


def test_models_read_the_spec_examples():
    from integrations_alor.models_market import structure_all_trade, structure_candles, structure_security

    simple = structure_security(_decoded(SPEC_SECURITY_SIMPLE))
    assert simple.cancellation == dt.datetime(2025, 6, 19, tzinfo=UTC)  # no Z: UTC
    assert simple.min_step == Decimal("0.001") and simple.lot_size == 1
    assert structure_security(_decoded(SPEC_SECURITY_SLIM)) == attrs.evolve(simple, market=None)
    trade = structure_all_trade(_decoded(SPEC_ALL_TRADE_SIMPLE))
    assert trade.id == "159" and trade.order_number is None and trade.price == Decimal("142.52")
    assert trade.time == dt.datetime(2021, 1, 20, 16, 5, 10, 768000, tzinfo=UTC)  # from the ms timestamp
    assert structure_all_trade(_decoded(SPEC_ALL_TRADE_SLIM)) == trade
    history = structure_candles(_decoded(SPEC_HISTORY_SIMPLE))
    assert structure_candles(_decoded(SPEC_HISTORY_SLIM)) == history
    assert history.candles[0].low == 287 and history.prev.timestamp() == 1701068100


@pytest.mark.parametrize(
    ("cancellation", "expected"),
    [
        ("2025-06-19T00:00:00.0000000Z", dt.datetime(2025, 6, 19, tzinfo=UTC)),
        ("2025-06-19T03:00:00.1234567+03:00", dt.datetime(2025, 6, 19, 0, 0, 0, 123456, tzinfo=UTC)),
        ("9999-12-31T23:59:59.9999999", None),
        ("9999-12-31T23:59:59.9999999Z", None),
    ],
)
def test_security_times_with_or_without_zone_and_never(cancellation, expected):
    from integrations_alor.models_market import structure_security

    data = _decoded(SPEC_SECURITY_SIMPLE)
    data["cancellation"] = cancellation
    assert structure_security(data).cancellation == expected


def test_ids_as_strings_or_numbers_and_malformed_bodies():
    from integrations import ProtocolError
    from integrations_alor.models_market import structure_all_trade, structure_candles, structure_quote

    data = _decoded(SPEC_ALL_TRADE_SIMPLE)
    assert structure_all_trade({**data, "id": "159"}) == structure_all_trade(data)
    with pytest.raises(ProtocolError):
        structure_all_trade({**data, "price": "cheap"})
    with pytest.raises(ProtocolError):
        structure_all_trade({k: v for k, v in data.items() if k != "id"})
    with pytest.raises(ProtocolError):
        structure_candles({"history": {"time": 1}})
    with pytest.raises(ProtocolError):
        structure_quote(["not", "an", "object"])
