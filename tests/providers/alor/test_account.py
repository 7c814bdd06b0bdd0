# ruff: noqa: RUF001
"""ALOR account reads (issue 13): positions, summary, risk, trades, their history, orders and stop
orders, replayed from cassettes recorded against the sandbox; the consistency of the sandbox's
account with the orders placed; lazy paging and session boundaries against the live sandbox; the
sandbox's account error answers and its answers' shapes against the spec's examples.

Re-record with ``pytest --integrations-record-mode=rewrite --integrations-only
tests/providers/alor/test_account.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Callable, Dict, Iterator, List, Tuple

import attrs
import pytest
import requests

from integrations import NotFound, PermissionDenied, ProtocolError
from integrations.testing.shapes import json_shape
from integrations_alor.api_account import DEFAULT_PAGE_SIZE
from integrations_alor.models_account import (
    CurrencyBuyingPower,
    FortsRisk,
    Order,
    Position,
    Risk,
    StopOrder,
    Summary,
    Trade,
    structure_account,
    structure_account_list,
)
from integrations_alor.sandbox_account import ACCOUNT_ERRORS, FEE_RATE, session_start

FORMATS = ("Simple", "Slim", "Heavy")
ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders"
TIMEOUT = (2.0, 5.0)


def _forts(portfolios: Tuple[str, ...]) -> str:
    return next(p for p in portfolios if p.startswith("7500"))


def _signed(trade: Trade) -> int:
    return trade.qty_units if trade.side == "buy" else -trade.qty_units


# -- replayed from cassettes -------------------------------------------------------------------------


def test_positions_are_the_same_model_in_every_format(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        p = c.portfolios[0]
        c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=2)
        c.market_order(portfolio=p, exchange="MOEX", symbol="SU26238RMFS4", side="buy", quantity=3)
        lists = {fmt: c.positions(p, format=fmt) for fmt in FORMATS}
        single = {fmt: c.position(p, "SBER", format=fmt) for fmt in FORMATS}
        without = c.positions(p, without_currency=True)
        with pytest.raises(NotFound) as info:
            c.position(p, "GAZP")
    assert info.value.status == 404
    assert lists["Simple"] == lists["Slim"] == lists["Heavy"]
    assert all(isinstance(x, Position) for x in lists["Simple"])
    held = {x.symbol: x for x in lists["Simple"]}
    assert set(held) == {"RUB", "SBER", "SU26238RMFS4"}
    assert held["RUB"].is_currency and not held["SBER"].is_currency
    assert single["Simple"] == single["Slim"] == single["Heavy"] == held["SBER"]
    sber, bond = held["SBER"], held["SU26238RMFS4"]
    assert sber.qty_lots == 2 and sber.qty_units == 2 * sber.lot_size
    assert sber.volume == sber.avg_price * sber.qty_units
    # A bond's price is percent of its 1000-rouble face value.
    assert bond.qty_units == 3 and bond.volume == bond.avg_price * 3 * 10
    assert [x.symbol for x in without] == ["SBER", "SU26238RMFS4"]
    assert all(isinstance(x.avg_price, Decimal) for x in without)


def test_all_positions_cover_every_portfolio_of_the_login(integrations_session):
    # The login defaults to the JWT's (sub). The cassette redacts it in the JWT and in the URL alike,
    # so the replayed client asks for the very path that was recorded.
    with integrations_session("alor") as s:
        c = s.client
        c.market_order(portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        c.market_order(portfolio="D39014", exchange="MOEX", symbol="GAZP", side="buy", quantity=1)
        everything = c.all_positions()
        slim = c.all_positions(format="Slim")
        portfolios = c.portfolios
        per_portfolio = [x for p in portfolios for x in c.positions(p)]
        instruments = c.all_positions(without_currency=True, format="Heavy")
        with pytest.raises(PermissionDenied):
            c.all_positions(login="P039005")  # another login's
    assert everything == slim
    assert sorted(everything, key=repr) == sorted(per_portfolio, key=repr)
    assert {x.portfolio for x in everything} == set(portfolios)
    assert {(x.portfolio, x.symbol) for x in instruments} == {("D39004", "SBER"), ("D39014", "GAZP")}


def test_all_positions_default_to_the_jwts_login(alor_live):
    alor_live.market_order(portfolio="D39014", exchange="MOEX", symbol="GAZP", side="buy", quantity=1)
    login = alor_live.account.login
    assert alor_live.all_positions() == alor_live.all_positions(login=login)
    assert [(x.portfolio, x.symbol) for x in alor_live.all_positions(without_currency=True)] == [
        ("D39014", "GAZP")
    ]


def test_summary_and_risk_are_the_same_in_every_format(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        p = c.portfolios[0]
        c.market_order(portfolio=p, exchange="MOEX", symbol="LKOH", side="buy", quantity=1)
        summaries = {fmt: c.summary(p, format=fmt) for fmt in FORMATS}
        risks = {fmt: c.risk(p, format=fmt) for fmt in FORMATS}
        now = s.clock.now()
    summary, risk = summaries["Simple"], risks["Simple"]
    assert isinstance(summary, Summary) and isinstance(risk, Risk)
    assert summaries["Slim"] == summary == summaries["Heavy"]
    assert risks["Slim"] == risk == risks["Heavy"]
    assert summary.buying_power_by_currency == (CurrencyBuyingPower("RUB", summary.buying_power),)
    assert risk.portfolio == p and risk.exchange == "MOEX"
    assert risk.portfolio_evaluation == summary.portfolio_evaluation
    assert risk.initial_margin == summary.initial_margin > 0
    assert risk.minimal_margin == risk.initial_margin / 2
    assert risk.risk_coverage_ratio_one == risk.portfolio_evaluation - risk.initial_margin
    assert risk.risk_coverage_ratio_two == risk.portfolio_evaluation - risk.minimal_margin
    assert risk.risk_status == "Ok" and not risk.has_negative_quantity
    assert risk.calculation_time is not None and risk.calculation_time.tzinfo is not None
    assert risk.calculation_time.timestamp() == pytest.approx(now, abs=1)


def test_forts_risk_is_the_same_in_every_format(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        forts = _forts(c.portfolios)
        c.market_order(portfolio=forts, exchange="MOEX", symbol="SiZ6", side="buy", quantity=1)
        risks = {fmt: c.forts_risk(forts, format=fmt) for fmt in FORMATS}
        summary = c.summary(forts)
        trade = c.trades(forts)[0]
        with pytest.raises(NotFound):
            c.forts_risk(c.portfolios[0])  # a stock portfolio has no FORTS risk
    risk = risks["Simple"]
    assert isinstance(risk, FortsRisk)
    assert risks["Heavy"] == risk
    # The Slim format has no varMargin; everything else is the same.
    assert risks["Slim"].var_margin is None
    assert attrs.evolve(risks["Slim"], var_margin=risk.var_margin) == risk
    assert risk.portfolio == forts
    assert risk.money_amount == summary.buying_power
    assert risk.money_old == summary.buying_power_at_morning
    assert risk.fee == trade.commission
    assert risk.money_free == risk.money_amount - risk.money_blocked


def test_trades_of_the_session_in_every_format(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        p = c.portfolios[0]
        c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=2, comment="first")
        c.market_order(portfolio=p, exchange="MOEX", symbol="GAZP", side="sell", quantity=1)
        every = {fmt: c.trades(p, format=fmt) for fmt in FORMATS}
        with_repo = c.trades(p, with_repo=True)
        sber = {fmt: c.symbol_trades(p, "SBER", format=fmt) for fmt in FORMATS}
        board = c.symbol_trades(p, "SBER", instrument_group="TQBR")
        other_board = c.symbol_trades(p, "SBER", instrument_group="TQCB")
        spbx = c.trades(p, exchange="SPBX")
    trades = every["Simple"]
    assert every["Slim"] == trades == every["Heavy"] == with_repo
    assert [(t.symbol, t.side, t.qty) for t in trades] == [("SBER", "buy", 2), ("GAZP", "sell", 1)]
    assert trades[0].comment == "first" and trades[1].comment is None
    assert len({t.id for t in trades}) == 2 and all(t.id.isdigit() for t in trades)
    assert all(t.date.tzinfo == dt.timezone.utc for t in trades)
    assert sber["Simple"] == sber["Slim"] == sber["Heavy"] == board == (trades[0],)
    assert other_board == () and spbx == ()


def test_history_trades_are_the_past_sessions(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        p = c.portfolios[0]
        c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="sell", quantity=1)
        c.market_order(portfolio=p, exchange="MOEX", symbol="GAZP", side="buy", quantity=2)
        today = c.trades(p)
        before = list(c.history_trades(p))
        day = dt.datetime.fromtimestamp(s.clock.now(), dt.timezone.utc).date()
        s.clock.advance(86400)  # the next session: today's trades become history
        after = c.trades(p)
        history = {fmt: list(c.history_trades(p, page_size=2, format=fmt)) for fmt in FORMATS}
        newest_first = list(c.history_trades(p, descending=True))
        sber = list(c.history_trades(p, symbol="SBER"))
        gazp = list(c.history_trades(p, ticker="GAZP"))
        sells = list(c.history_trades(p, side="sell"))
        since_day = list(c.history_trades(p, date_from=day))
        since_later = list(c.history_trades(p, date_from=day + dt.timedelta(days=1)))
        since_time = list(c.history_trades(p, date_from=today[1].date))
        first_two = list(c.history_trades(p, limit=2, page_size=1))
    assert len(today) == 3 and before == [] and after == ()
    assert history["Simple"] == history["Slim"] == history["Heavy"] == list(today)
    assert newest_first == list(reversed(today))
    assert sber == list(today[:2]) and gazp == [today[2]]
    assert sells == [today[1]]
    assert since_day == list(today) and since_later == []
    assert since_time == [t for t in today if t.date >= today[1].date]
    assert first_two == list(today[:2])


def test_orders_and_stop_orders_in_every_format(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        p = c.portfolios[0]
        market = c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
        limit = c.limit_order(
            portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=2, price=Decimal("100.5")
        )
        # Placed through the escape hatch so this test does not depend on the stop-order command's
        # own method; the trigger is far above the market.
        stop = c.request(
            "POST",
            ORDERS + "/actions/stop",
            json={
                "side": "sell",
                "quantity": 1,
                "condition": "More",
                "triggerPrice": 5000,
                "instrument": {"symbol": "SBER", "exchange": "MOEX"},
                "user": {"portfolio": p},
            },
            retry=True,
        )
        orders = {fmt: c.orders(p, format=fmt) for fmt in FORMATS}
        one = {fmt: c.order(p, limit.order_number, format=fmt) for fmt in FORMATS}
        stops = {fmt: c.stop_orders(p, format=fmt) for fmt in FORMATS}
        one_stop = {fmt: c.get_stop_order(p, int(stop["orderNumber"]), format=fmt) for fmt in FORMATS}
        with pytest.raises(NotFound):
            c.order(p, 1)
        with pytest.raises(NotFound):
            c.get_stop_order(p, limit.order_number)  # a regular order is not a stop order
    listed = orders["Simple"]
    assert orders["Slim"] == listed == orders["Heavy"]
    assert all(isinstance(o, Order) for o in listed)
    by_id = {o.id: o for o in listed}
    assert set(by_id) == {market.order_number, limit.order_number}
    assert by_id[market.order_number].status == "filled" and by_id[market.order_number].volume is None
    working = by_id[limit.order_number]
    assert working.status == "working" and working.price == Decimal("100.5") and working.qty == 2
    assert working.end_time is None  # .NET MaxValue: never
    assert one["Simple"] == one["Slim"] == one["Heavy"] == working
    assert stops["Slim"] == stops["Simple"] == stops["Heavy"]
    (stop_order,) = stops["Simple"]
    assert isinstance(stop_order, StopOrder)
    assert stop_order.id == stop["orderNumber"] and stop_order.exchange_order_id is None
    assert stop_order.stop_price == 5000 and stop_order.condition == "More"
    assert one_stop["Simple"] == one_stop["Slim"] == one_stop["Heavy"] == stop_order


def test_positions_summary_trades_and_orders_agree(integrations_session):
    with integrations_session("alor") as s:
        c = s.client
        p = c.portfolios[0]
        acks = [
            c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=3),
            c.market_order(portfolio=p, exchange="MOEX", symbol="GAZP", side="buy", quantity=2),
            c.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="sell", quantity=1),
            c.market_order(portfolio=p, exchange="MOEX", symbol="GAZP", side="sell", quantity=5),
        ]
        trades = c.trades(p)
        positions = {x.symbol: x for x in c.positions(p)}
        summary = c.summary(p)
        risk = c.risk(p)
        orders = {o.id: o for o in c.orders(p)}
    # Every order filled as one trade, at its price.
    assert sorted(t.order_number for t in trades) == sorted(a.order_number for a in acks)
    for t in trades:
        order = orders[t.order_number]
        assert (order.status, order.symbol, order.side) == ("filled", t.symbol, t.side)
        assert order.qty == order.filled == t.qty and order.filled_qty_units == t.qty_units
        assert order.price == t.price
        assert t.volume == t.price * t.qty_units and t.commission == t.volume * FEE_RATE
    # Positions follow from the trades: quantities and average prices.
    for symbol in ("SBER", "GAZP"):
        mine = [t for t in trades if t.symbol == symbol]
        position = positions[symbol]
        assert position.qty_units == sum(_signed(t) for t in mine)
        assert position.volume == position.avg_price * position.qty_units
        assert position.unrealised_pl == position.current_volume - position.volume
    buys = [t for t in trades if t.symbol == "SBER" and t.side == "buy"]
    # SBER: bought, then partly sold: the average is the buys' weighted price.
    assert positions["SBER"].avg_price == sum(t.price * t.qty_units for t in buys) / sum(
        t.qty_units for t in buys
    )
    assert positions["SBER"].qty_lots == 2
    # GAZP: 2 lots bought, 5 sold: short 3 lots, opened at the crossing sale's price.
    crossing = next(t for t in trades if t.symbol == "GAZP" and t.side == "sell")
    assert positions["GAZP"].qty_lots == -3 and positions["GAZP"].avg_price == crossing.price
    # Money: the morning's buying power plus the trades' cash flows, less their commissions.
    flows = sum((-t.volume if t.side == "buy" else t.volume) - t.commission for t in trades)
    assert summary.buying_power == summary.buying_power_at_morning + flows
    assert summary.commission == sum(t.commission for t in trades)
    assert positions["RUB"].qty_units == summary.buying_power
    held = sum(x.current_volume for x in positions.values() if not x.is_currency)
    assert summary.portfolio_evaluation == summary.buying_power + held
    assert summary.profit == summary.portfolio_evaluation - summary.buying_power_at_morning
    assert risk.portfolio_evaluation == summary.portfolio_evaluation
    assert risk.has_negative_quantity


# -- against the live sandbox ------------------------------------------------------------------------


def test_history_trades_are_fetched_lazily(alor_live, clock, monkeypatch):
    p = alor_live.portfolios[0]
    for _ in range(5):
        alor_live.market_order(portfolio=p, exchange="MOEX", symbol="SBER", side="buy", quantity=1)
    clock.advance(86400)
    calls: List[Dict[str, Any]] = []
    real = alor_live._get

    def counting(path: str, params: Any, operation: str, timeout: Any) -> Any:
        calls.append({"path": path, "operation": operation, **(params or {})})
        return real(path, params, operation, timeout)

    monkeypatch.setattr(alor_live, "_get", counting)
    trades = alor_live.history_trades(p, page_size=2)
    assert calls == []  # nothing is sent before the first item is asked for
    first, second = next(trades), next(trades)
    assert len(calls) == 1
    assert calls[0]["limit"] == 2 and "from" not in calls[0]
    assert calls[0]["operation"] == "history_trades"
    third = next(trades)
    assert len(calls) == 2 and calls[1]["from"] == int(second.id)
    rest = list(trades)
    # Pages of 2, 2 and 1: the short last page ends the paging without another request.
    assert len(calls) == 3 and len(rest) == 2
    ids = [t.id for t in (first, second, third, *rest)]
    assert ids == sorted(ids) and len(set(ids)) == 5

    calls.clear()
    assert len(list(alor_live.history_trades(p, page_size=2, limit=3))) == 3
    assert [call["limit"] for call in calls] == [2, 1]

    calls.clear()
    next(alor_live.history_trades(p))
    assert [call["limit"] for call in calls] == [DEFAULT_PAGE_SIZE]


def test_a_trade_turns_into_history_when_the_next_session_starts(alor_live, clock):
    p = alor_live.portfolios[0]
    start = session_start(clock.now())
    clock.advance(start + 86400 - 2 - clock.now())  # two seconds before the next session
    alor_live.market_order(portfolio=p, exchange="MOEX", symbol="GAZP", side="buy", quantity=1)
    (trade,) = alor_live.trades(p)
    assert list(alor_live.history_trades(p)) == []
    clock.advance(1)
    assert alor_live.trades(p) == (trade,)
    clock.advance(1)  # the session starts: Moscow midnight
    assert alor_live.trades(p) == ()
    assert list(alor_live.history_trades(p)) == [trade]
    position = alor_live.position(p, "GAZP")
    # The position carries over; opened before this session, so it is the session's opening one.
    assert position.qty_units == trade.qty_units == position.open_units


# -- the sandbox's answers: error table and the spec's shapes ----------------------------------------


class Http:
    def __init__(self, sb: Any, http: requests.Session) -> None:
        self.api = sb.base_urls["api"]
        self.http = http
        answer = http.post(
            sb.base_urls["oauth"] + "/refresh",
            params={"token": sb.credentials["refresh_token"]},
            timeout=TIMEOUT,
        )
        self.headers = {"Authorization": f"Bearer {answer.json()['AccessToken']}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.api + path, params=params, headers=self.headers, timeout=TIMEOUT)


@pytest.fixture
def http(alor_sandbox: Any) -> Iterator[Http]:
    with requests.Session() as session:
        yield Http(alor_sandbox, session)


Trigger = Callable[[Http], Tuple[requests.Response, Dict[str, str]]]
CLIENTS = "/md/v2/Clients/MOEX/D39004"
HISTORY = "/md/v2/Stats/MOEX/D39004/history/trades"
TRIGGERS: Dict[str, Trigger] = {
    "account_exchange_unknown": lambda h: (
        h.get("/md/v2/Clients/NYSE/D39004/positions"),
        {"exchange": "NYSE"},
    ),
    "position_not_found": lambda h: (h.get(CLIENTS + "/positions/NOSUCH"), {}),
    "login_forbidden": lambda h: (h.get("/md/v2/Clients/P039005/positions"), {}),
    "forts_portfolio_not_found": lambda h: (h.get(CLIENTS + "/fortsrisk"), {}),
    "history_limit_out_of_range": lambda h: (h.get(HISTORY, limit=1001), {}),
    "history_from_invalid": lambda h: (h.get(HISTORY, **{"from": "last"}), {}),
    "history_date_invalid": lambda h: (h.get(HISTORY, dateFrom="yesterday"), {}),
    "trade_side_invalid": lambda h: (h.get(HISTORY, side="hold"), {}),
    "flag_invalid": lambda h: (
        h.get(CLIENTS + "/positions", withoutCurrency="yes"),
        {"name": "withoutCurrency"},
    ),
}


def test_every_account_error_answer_has_a_trigger_here() -> None:
    assert list(TRIGGERS) == list(ACCOUNT_ERRORS)
    assert all(answer.source in ("spec", "assumption") for answer in ACCOUNT_ERRORS.values())


@pytest.mark.parametrize("key", list(ACCOUNT_ERRORS))
def test_each_account_error_answer_is_what_the_sandbox_sends(http: Http, key: str) -> None:
    documented = ACCOUNT_ERRORS[key]
    answer, fields = TRIGGERS[key](http)
    assert answer.status_code == documented.status
    if documented.body is None:
        assert answer.content == b""
        return
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    expected = dict(documented.body)
    expected["message"] = str(expected["message"]).format(**fields)
    assert answer.json() == expected


@pytest.mark.parametrize(
    "path",
    [
        "/md/v2/Clients/MOEX/D39005/positions",
        "/md/v2/Clients/MOEX/D39005/summary",
        "/md/v2/Clients/MOEX/D39005/trades",
        "/md/v2/Clients/MOEX/D39005/SBER/trades",
        "/md/v2/Stats/MOEX/D39005/history/trades",
    ],
)
def test_another_accounts_portfolio_is_forbidden(http: Http, path: str) -> None:
    answer = http.get(path)
    assert answer.status_code == 403 and answer.content == b""


# The spec's examples (WarpOpenAPIv2.yml, components/examples), verbatim (their Cyrillic is Cyrillic).
SPEC_EXAMPLES: Dict[Tuple[str, str], str] = {
    (
        "Position",
        "Simple",
    ): """{"volume":549.198,"currentVolume":555.24,"symbol":"APTK","brokerSymbol":"MOEX:APTK","portfolio":"D00013","exchange":"MOEX","avgPrice":9.1533,"qtyUnits":60,"openUnits":60,"lotSize":10,"shortName":"Аптеки36и6","qtyT0":60,"qtyT1":60,"qtyT2":60,"qtyTFuture":60,"qtyT0Batch":6,"qtyT1Batch":6,"qtyT2Batch":6,"qtyTFutureBatch":6,"qtyBatch":6,"openQtyBatch":6,"qty":6,"open":6,"dailyUnrealisedPl":1.92,"unrealisedPl":7.962,"isCurrency":false,"existing":true}""",
    (
        "Position",
        "Slim",
    ): """{"v":549.198,"cv":555.24,"sym":"APTK","tic":"MOEX:APTK","p":"D00013","ex":"MOEX","pxavg":9.1533,"q":60,"o":60,"lot":10,"n":"Аптеки36и6","q0":60,"q1":60,"q2":60,"qf":60,"upd":1.92,"up":7.962,"cur":false,"h":true}""",
    (
        "Position",
        "Heavy",
    ): """{"volume":549.198,"currentVolume":555.24,"symbol":"APTK","brokerSymbol":"MOEX:APTK","portfolio":"D00013","exchange":"MOEX","avgPrice":9.1533,"qtyUnits":60,"openUnits":60,"lotSize":10,"shortName":"Аптеки36и6","qtyT0":60,"qtyT1":60,"qtyT2":60,"qtyTFuture":60,"qtyT0Batch":6,"qtyT1Batch":6,"qtyT2Batch":6,"qtyTFutureBatch":6,"openQtyBatch":6,"dailyUnrealisedPl":1.92,"unrealisedPl":7.962,"isCurrency":false,"existing":true}""",
    (
        "Summary",
        "Simple",
    ): """{"buyingPowerAtMorning":439844.15,"buyingPower":452404,"profit":12560,"profitRate":1.93,"portfolioEvaluation":651717,"portfolioLiquidationValue":651717,"initialMargin":199313,"correctedMargin":15752.115,"riskBeforeForcePositionClosing":552061,"commission":24.21,"buyingPowerByCurrency":[{"currency":"RUB","buyingPower":452404.21945092}]}""",
    (
        "Summary",
        "Slim",
    ): """{"bpm":439844.15,"bp":452404,"p":12560,"pr":1.93,"pe":651717,"plv":651717,"im":199313,"mgc":15752.115,"r":552061,"cms":24.21,"bpv2":[{"cr":"RUB","bp":452404.21945092}]}""",
    (
        "Summary",
        "Heavy",
    ): """{"buyingPowerAtMorning":439844.15,"buyingPower":452404,"profit":12560,"profitRate":1.93,"portfolioEvaluation":651717,"portfolioLiquidationValue":651717,"initialMargin":199313,"correctedMargin":15752.115,"riskBeforeForcePositionClosing":552061,"commission":24.21,"buyingPowerByCurrency":[{"currency":"RUB","buyingPower":452404.21945092}]}""",
    (
        "Risk",
        "Simple",
    ): """{"portfolio":"7500GHC","exchange":"MOEX","portfolioEvaluation":646270.9,"portfolioLiquidationValue":646270.9,"initialMargin":15752.115,"minimalMargin":65177.0575,"correctedMargin":15752.115,"riskCoverageRatioOne":630518.785,"riskCoverageRatioTwo":638394.8425,"riskCategoryId":2,"clientType":"StandardRisk","hasForbiddenPositions":false,"hasNegativeQuantity":false,"riskStatus":"Ok","calculationTime":"2025-04-19T10:17:54.8283796Z"}""",
    (
        "Risk",
        "Slim",
    ): """{"p":"7500GHC","ex":"MOEX","pe":646270.9,"plv":646270.9,"mgi":15752.115,"mgmn":65177.0575,"mgc":15752.115,"r1":630518.785,"r2":638394.8425,"rid":2,"ct":"StandardRisk","fpos":false,"nq":false,"rst":"Ok","t":"2025-04-19T10:17:54.8283796Z"}""",
    (
        "Risk",
        "Heavy",
    ): """{"portfolio":"7500GHC","exchange":"MOEX","portfolioEvaluation":646270.9,"portfolioLiquidationValue":646270.9,"initialMargin":15752.115,"minimalMargin":65177.0575,"correctedMargin":15752.115,"riskCoverageRatioOne":630518.785,"riskCoverageRatioTwo":2557.0824546,"riskCategoryId":2,"clientType":"StandardRisk","hasForbiddenPositions":false,"hasNegativeQuantity":false,"riskStatus":"Ok","calculationTime":"2025-04-19T10:17:54.8283796Z"}""",
    (
        "FortsRisk",
        "Simple",
    ): """{"balanceMoney":0,"portfolio":"7500GHC","moneyFree":452404,"moneyBlocked":12560,"fee":651717,"moneyOld":651717,"moneyAmount":199313,"moneyPledgeAmount":552061,"vmInterCl":651717,"vmCurrentPositions":199313,"varMargin":552061,"indicativeVarMargin":1720.32124,"netOptionValue":0,"posRisk":0,"isLimitsSet":false}""",
    (
        "FortsRisk",
        "Slim",
    ): """{"p":"7500GHC","f":452404,"b":12560,"fee":651717,"o":651717,"a":199313,"pa":552061,"mgc":651717,"mgp":199313,"ivm":1720.32124,"nov":0,"pr":0,"lim":false}""",
    (
        "FortsRisk",
        "Heavy",
    ): """{"portfolio":"7500GHC","moneyFree":452404,"moneyBlocked":12560,"fee":651717,"moneyOld":651717,"moneyAmount":199313,"moneyPledgeAmount":552061,"vmInterCl":651717,"vmCurrentPositions":199313,"varMargin":552061,"indicativeVarMargin":1720.32124,"netOptionValue":0,"posRisk":0,"isLimitsSet":false}""",
    (
        "Trade",
        "Simple",
    ): """{"id":"9055212111","orderno":"41129409599","comment":null,"symbol":"APTK","brokerSymbol":"MOEX:APTK","exchange":"MOEX","date":"2023-11-28T07:52:36.0000000Z","board":"TQBR","qtyUnits":10,"qtyBatch":1,"qty":1,"price":13.492,"accruedInt":0,"side":"buy","existing":false,"commission":0.10746,"repoSpecificFields":null,"volume":134.92}""",
    (
        "Trade",
        "Slim",
    ): """{"id":"9055212111","eid":"41129409599","cmt":null,"sym":"APTK","tic":"MOEX:APTK","ex":"MOEX","d":"2023-11-28T07:52:36.0000000Z","b":"TQBR","q":10,"qb":1,"px":13.492,"ai":0,"s":"buy","h":false,"cms":0.10746,"r":null,"v":134.92}""",
    (
        "Trade",
        "Heavy",
    ): """{"id":"9055212111","orderNo":"41129409599","comment":null,"symbol":"APTK","shortName":"Аптеки36и6","brokerSymbol":"MOEX:APTK","exchange":"MOEX","date":"2023-11-28T07:52:36.0000000Z","board":"TQBR","qtyUnits":10,"qtyBatch":1,"qty":1,"price":13.492,"currency":"RUB","accruedInt":0,"side":"buy","existing":false,"commission":0.10746,"repoSpecificFields":null,"volume":134.92,"settleDate":"2024-12-31T23:59:59.0000000Z"}""",
    (
        "StopOrder",
        "Simple",
    ): """{"id":347499,"exchangeOrderId":425242362,"symbol":"SBER","brokerSymbol":"MOEX:LKOH","portfolio":"D39004","exchange":"MOEX","comment":null,"board":"TQBR","type":"stop","side":"buy","condition":"LessOrEqual","status":"working","transTime":"2020-05-16T23:59:59.9990000Z","updateTime":null,"endTime":"2020-06-16T23:59:59.9990000Z","error":null,"qtyUnits":10,"qtyBatch":1,"qty":1,"filled":0,"filledQtyUnits":0,"filledQtyBatch":0,"price":0,"avg_price":0,"stopPrice":208.6,"existing":true,"timeInForce":"oneday","iceberg":null,"volume":2086.1,"protectingSeconds":15}""",
    (
        "StopOrder",
        "Slim",
    ): """{"id":347499,"eid":425242362,"sym":"SBER","tic":"MOEX:LKOH","p":"D39004","ex":"MOEX","cmt":null,"bd":"TQBR","t":"stop","s":"buy","cnd":"LessOrEqual","st":"working","tt":"2020-05-16T23:59:59.9990000Z","ut":null,"et":"2020-06-16T23:59:59.9990000Z","err":null,"q":10,"qb":1,"fq":0,"fqb":0,"px":0,"pxavg":0,"pxs":208.6,"h":true,"tf":"oneday","i":null,"v":2086.1,"psec":15}""",
    (
        "StopOrder",
        "Heavy",
    ): """{"id":347499,"exchangeOrderId":425242362,"symbol":"SBER","brokerSymbol":"MOEX:LKOH","portfolio":"D39004","exchange":"MOEX","comment":null,"board":"TQBR","type":"stop","side":"buy","condition":"LessOrEqual","status":"working","transTime":"2020-05-16T23:59:59.9990000Z","updateTime":null,"endTime":"2020-06-16T23:59:59.9990000Z","error":null,"qtyUnits":10,"qtyBatch":1,"filledQtyUnits":0,"filledQtyBatch":0,"price":0,"avgPrice":0,"stopPrice":208.6,"existing":true,"timeInForce":"oneday","iceberg":null,"volume":2086.1,"protectingSeconds":15}""",
    (
        "Order",
        "Simple",
    ): """{"id":"41423837024","symbol":"GAZP","board":"TQBR","brokerSymbol":"MOEX:GAZP","portfolio":"D00013","exchange":"MOEX","comment":"Приказ на продажу","type":"limit","side":"buy","status":"working","transTime":"2023-12-11T07:02:48.0000000Z","updateTime":"2023-12-11T07:02:48.0000000Z","endTime":"2023-12-11T23:59:59.9990000Z","qtyUnits":10,"qtyBatch":1,"qty":1,"filledQtyUnits":0,"filledQtyBatch":0,"filled":0,"price":161.15,"existing":true,"timeInForce":"oneday","iceberg":null,"volume":1611.5}""",
    (
        "Order",
        "Slim",
    ): """{"id":"41423837024","sym":"GAZP","bd":"TQBR","tic":"MOEX:GAZP","p":"D00013","ex":"MOEX","cmt":"Приказ на продажу","t":"limit","s":"buy","st":"working","tt":"2023-12-11T07:02:48.0000000Z","ut":"2023-12-11T07:02:48.0000000Z","et":"2023-12-11T23:59:59.9990000","q":10,"qb":1,"fq":0,"fqb":0,"px":161.15,"h":true,"tf":"fillorkill","i":null,"v":1611.5}""",
    (
        "Order",
        "Heavy",
    ): """{"id":"41423837024","symbol":"GAZP","board":"TQBR","brokerSymbol":"MOEX:GAZP","portfolio":"D00013","exchange":"MOEX","comment":"Приказ на продажу","type":"limit","side":"buy","status":"working","transTime":"2023-12-11T07:02:48.0000000Z","updateTime":"2023-12-11T07:02:48.0000000Z","endTime":"2023-12-11T23:59:59.9990000Z","qtyUnits":10,"qtyBatch":1,"filledQtyUnits":0,"filledQtyBatch":0,"price":161.15,"existing":true,"timeInForce":"fillorkill","iceberg":null,"volume":1611.5}""",
}
MODELS = {
    "Position": Position,
    "Summary": Summary,
    "Risk": Risk,
    "FortsRisk": FortsRisk,
    "Trade": Trade,
    "StopOrder": StopOrder,
    "Order": Order,
}


def _example(kind: str, fmt: str, decimals: bool = True) -> Any:
    return json.loads(SPEC_EXAMPLES[(kind, fmt)], parse_float=Decimal if decimals else float)


def _sandbox_answer(h: Http, kind: str, fmt: str) -> Any:
    paths = {
        "Position": CLIENTS + "/positions/SBER",
        "Summary": CLIENTS + "/summary",
        "Risk": CLIENTS + "/risk",
        "FortsRisk": "/md/v2/Clients/MOEX/750039004/fortsrisk",
        "Trade": CLIENTS + "/trades",
    }
    answer = h.get(paths[kind], format=fmt)
    assert answer.status_code == 200
    body = answer.json()
    return body[0] if kind == "Trade" else body


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["Position", "Summary", "Risk", "FortsRisk", "Trade"])
def test_sandbox_answers_have_the_specs_shape(alor_live, http: Http, kind: str, fmt: str) -> None:
    alor_live.market_order(portfolio="D39004", exchange="MOEX", symbol="SBER", side="buy", quantity=1)
    mine = _sandbox_answer(http, kind, fmt)
    example = _example(kind, fmt, decimals=False)
    assert json_shape(mine, key_order=True, numbers="json") == json_shape(
        example, key_order=True, numbers="json"
    )


@pytest.mark.parametrize("kind", list(MODELS))
def test_models_read_the_specs_examples_in_every_format(kind: str) -> None:
    cls = MODELS[kind]
    models = {fmt: structure_account(_example(kind, fmt), cls, fmt) for fmt in FORMATS}
    assert all(isinstance(m, cls) for m in models.values())
    simple = models["Simple"]
    if kind in ("Position", "Summary", "Trade", "StopOrder"):
        assert models["Slim"] == simple == models["Heavy"]
    if kind == "FortsRisk":
        assert models["Heavy"] == simple
        assert attrs.evolve(models["Slim"], var_margin=simple.var_margin) == simple


def test_models_tolerate_numeric_ids_missing_zones_and_never() -> None:
    stop = structure_account(_example("StopOrder", "Simple"), StopOrder, "Simple")
    assert stop.id == "347499" and stop.exchange_order_id == "425242362"
    assert stop.update_time is None and stop.stop_price == Decimal("208.6")
    slim = structure_account(_example("Order", "Slim"), Order, "Slim")
    # "et" without a zone is read as UTC; 7 fractional digits are read to the microsecond.
    assert slim.end_time == dt.datetime(2023, 12, 11, 23, 59, 59, 999000, tzinfo=dt.timezone.utc)
    never = {**_example("Order", "Simple"), "endTime": "9999-12-31T23:59:59.9999999Z"}
    assert structure_account(never, Order, "Simple").end_time is None
    trade = structure_account(_example("Trade", "Simple"), Trade, "Simple")
    assert trade.date == dt.datetime(2023, 11, 28, 7, 52, 36, tzinfo=dt.timezone.utc)
    assert trade.price == Decimal("13.492") and trade.qty == 1 and trade.qty_units == 10


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ([], "expected a JSON object"),
        ({k: v for k, v in json.loads(SPEC_EXAMPLES[("Trade", "Simple")]).items() if k != "price"}, "price"),
        ({**json.loads(SPEC_EXAMPLES[("Trade", "Simple")]), "price": "cheap"}, "malformed"),
        ({**json.loads(SPEC_EXAMPLES[("Trade", "Simple")]), "existing": "yes"}, "boolean"),
        ({**json.loads(SPEC_EXAMPLES[("Trade", "Simple")]), "date": "yesterday"}, "ISO time"),
        ({**json.loads(SPEC_EXAMPLES[("Trade", "Simple")]), "qty": 1.5, "qtyBatch": 1.5}, "whole"),
    ],
)
def test_a_malformed_body_is_a_protocol_error(body: Any, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        structure_account(body, Trade, "Simple")


def test_a_list_that_is_not_a_list_is_a_protocol_error() -> None:
    assert structure_account_list(None, Trade, "Simple") == ()
    with pytest.raises(ProtocolError, match="JSON array"):
        structure_account_list({"id": "1"}, Trade, "Simple")
