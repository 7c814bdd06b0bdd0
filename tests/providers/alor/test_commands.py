"""ALOR's order commands beyond market and limit orders (issue 13): stop and stop-limit orders,
modifying orders, cancelling all, estimates.

Replay tests (``integrations_session``) run offline from cassettes/alor/test_commands/; re-record
with ``pytest --integrations-record-mode=rewrite --integrations-only tests/providers/alor/test_commands.py``.
The tests named ``live`` run against the sandbox on 127.0.0.1 with the manual clock: stop orders
triggering on the simulated price, retry safety with lost replies, and the sandbox's error answers.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import requests

from integrations import NotFound, PermissionDenied, Rejected, sandbox
from integrations.runtime import ManualClock
from integrations.sandbox import Fault
from integrations_alor.models import OrderAck
from integrations_alor.models_commands import CancelAllAck, OrderEstimate
from integrations_alor.sandbox_commands import COMMANDS_ERRORS
from integrations_alor.sandbox_data import INSTRUMENTS, Instrument

ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders"
SBER = dict(exchange="MOEX", symbol="SBER")
TIMEOUT = (2.0, 5.0)


def _inst(symbol: str) -> Instrument:
    return next(i for i in INSTRUMENTS if i.symbol == symbol)


def _order(client: Any, number: str, portfolio: str, stop: bool = False, exchange: str = "MOEX") -> Any:
    kind = "stoporders" if stop else "orders"
    return client.request("GET", f"/md/v2/Clients/{exchange}/{portfolio}/{kind}/{number}")


# The simulated price stays inside the band its instrument's book was seeded from
# (sandbox_market.py): orders priced outside it never fill or trigger, or always do.
LOW, HIGH = _inst("SBER").low, _inst("SBER").high


# -- replayed from cassettes ----------------------------------------------------------------------


def test_stop_and_stop_limit_orders_are_listed_then_cancelled(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        stop = client.stop_order(
            portfolio=portfolio,
            **SBER,
            side="buy",
            quantity=2,
            condition="MoreOrEqual",
            trigger_price=HIGH * 2,
            stop_end=dt.datetime.fromtimestamp(s.clock.now() + 86400, dt.timezone.utc),
            protecting_seconds=30,
            allow_margin=True,
            comment="breakout",
        )
        stop_limit = client.stop_limit_order(
            portfolio=portfolio,
            **SBER,
            side="sell",
            quantity=1,
            condition="less",
            trigger_price=LOW / 2,
            price=LOW / 2 - 1,
            time_in_force="goodtillcancelled",
            iceberg_fixed=1,
        )
        assert isinstance(stop, OrderAck) and isinstance(stop_limit, OrderAck)
        assert stop.order_number != stop_limit.order_number
        listed = {o["id"]: o for o in client.request("GET", f"/md/v2/Clients/MOEX/{portfolio}/stoporders")}
        first, second = listed[stop.order_number], listed[stop_limit.order_number]
        assert (first["type"], first["side"], first["condition"], first["status"]) == (
            "stop",
            "buy",
            "MoreOrEqual",
            "working",
        )
        assert Decimal(str(first["stopPrice"])) == HIGH * 2
        assert first["protectingSeconds"] == 30 and first["comment"] == "breakout"
        assert first["exchangeOrderId"] is None  # not triggered
        assert (second["type"], second["condition"], second["timeInForce"]) == (
            "stoplimit",
            "Less",
            "goodtillcancelled",
        )
        assert Decimal(str(second["price"])) == LOW / 2 - 1
        # A stop order is cancelled with stop=True; the rest with one cancel-all of stop orders.
        assert client.cancel_order(stop.order_number, portfolio=portfolio, exchange="MOEX", stop=True)
        everything = client.cancel_all_orders(portfolio=portfolio, exchange="MOEX", stop=True)
        assert everything == CancelAllAck(portfolio, "MOEX", True, False, "success")
        assert _order(client, stop_limit.order_number, portfolio, stop=True)["status"] == "canceled"
        again = client.cancel_all_orders(portfolio=portfolio, exchange="MOEX", stop=True)
        assert again.nothing_to_cancel and again.message == "Orders to cancel not found"


def test_a_modified_limit_order_is_a_new_order_and_the_original_is_cancelled(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        order = dict(portfolio=portfolio, **SBER, side="buy", quantity=3)
        placed = client.limit_order(**order, price=LOW - 20)
        modified = client.modify_limit_order(placed.order_number, **order, price=LOW - 10, allow_margin=False)
        assert modified.order_number != placed.order_number  # the spec: a new number
        assert modified.request_id != placed.request_id
        assert _order(client, placed.order_number, portfolio)["status"] == "canceled"
        new = _order(client, modified.order_number, portfolio)
        assert new["status"] == "working" and Decimal(str(new["price"])) == LOW - 10 and new["qty"] == 3
        # The original can no longer be modified: it is not working.
        with pytest.raises(NotFound):
            client.modify_limit_order(placed.order_number, **order, price=LOW - 5)
        client.cancel_order(modified.order_number, portfolio=portfolio, exchange="MOEX")


def test_modified_stop_and_stop_limit_orders_replace_the_originals(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1)
        stop = client.stop_order(**order, condition="more", trigger_price=HIGH + 100)
        new_stop = client.modify_stop_order(
            stop.order_number, **order, condition="more", trigger_price=HIGH + 90, protecting_seconds=5
        )
        stop_limit = client.stop_limit_order(
            **order, condition="more", trigger_price=HIGH + 100, price=HIGH + 101
        )
        new_stop_limit = client.modify_stop_limit_order(
            stop_limit.order_number,
            **order,
            condition="moreorequal",
            trigger_price=HIGH + 80,
            price=HIGH + 81,
        )
        for old, new in ((stop, new_stop), (stop_limit, new_stop_limit)):
            assert new.order_number != old.order_number
            assert _order(client, old.order_number, portfolio, stop=True)["status"] == "canceled"
            assert _order(client, new.order_number, portfolio, stop=True)["status"] == "working"
        listed = _order(client, new_stop_limit.order_number, portfolio, stop=True)
        assert Decimal(str(listed["stopPrice"])) == HIGH + 80 and listed["condition"] == "MoreOrEqual"
        assert _order(client, new_stop.order_number, portfolio, stop=True)["protectingSeconds"] == 5
        # A stop order is not a stop-limit order: modifying it as one finds nothing.
        with pytest.raises(NotFound):
            client.modify_stop_limit_order(
                new_stop.order_number, **order, condition="more", trigger_price=HIGH + 70, price=HIGH + 71
            )
        assert client.cancel_all_orders(portfolio=portfolio, exchange="MOEX").nothing_to_cancel is False


def test_a_filled_market_order_cannot_be_modified(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1)
        placed = client.market_order(**order)
        assert _order(client, placed.order_number, portfolio)["status"] == "filled"
        with pytest.raises(NotFound) as info:
            client.modify_market_order(placed.order_number, **order, time_in_force="immediateorcancel")
        assert info.value.status == 404


def test_a_repeated_modify_request_id_returns_the_first_answer(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1)
        placed = client.limit_order(**order, price=LOW - 30)
        first = client.modify_limit_order(placed.order_number, **order, price=LOW - 29, request_id="modify-1")
        again = client.modify_limit_order(placed.order_number, **order, price=LOW - 28, request_id="modify-1")
        assert again == first  # the first answer, not a 404 for the now cancelled original
        working = [
            o
            for o in client.request("GET", f"/md/v2/Clients/MOEX/{portfolio}/orders")
            if o["status"] == "working"
        ]
        assert [o["id"] for o in working] == [first.order_number]
        if s.sandbox is not None:
            assert s.sandbox.emulator.orders_placed == 2  # the limit order and its one replacement


def test_a_marketable_limit_order_fills_at_once(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1)
        placed = client.limit_order(**order, price=HIGH + 5)
        filled = _order(client, placed.order_number, portfolio)
        assert filled["status"] == "filled" and filled["filled"] == 1
        with pytest.raises(Rejected):  # nothing left to cancel
            client.cancel_order(placed.order_number, portfolio=portfolio, exchange="MOEX")


def test_a_stop_order_on_forts_with_allow_margin(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        forts = next(p for p in client.portfolios if p.startswith("7500"))
        bid = _inst("SiZ6").low
        ack = client.stop_order(
            portfolio=forts,
            exchange="MOEX",
            symbol="SiZ6",
            instrument_group="RFUD",
            side="sell",
            quantity=1,
            condition="lessorequal",
            trigger_price=bid - 1000,
            allow_margin=True,
        )
        listed = _order(client, ack.order_number, forts, stop=True)
        assert (listed["symbol"], listed["board"], listed["status"]) == ("SiZ6", "RFUD", "working")
        # Margin is per market: the stock portfolio cannot trade the future.
        with pytest.raises(Rejected):
            client.stop_order(
                portfolio=client.portfolios[0],
                exchange="MOEX",
                symbol="SiZ6",
                side="sell",
                quantity=1,
                condition="less",
                trigger_price=bid - 1000,
            )


def test_commands_for_a_portfolio_outside_the_token_are_denied(integrations_session):
    with integrations_session("alor") as s:
        order = dict(portfolio="D99999", **SBER, side="buy", quantity=1)
        with pytest.raises(PermissionDenied):
            s.client.stop_order(**order, condition="more", trigger_price=1000)
        with pytest.raises(PermissionDenied):
            s.client.modify_limit_order("1", **order, price=100)
        with pytest.raises(PermissionDenied):
            s.client.cancel_all_orders(portfolio="D99999", exchange="MOEX")
        with pytest.raises(PermissionDenied):
            s.client.estimate_order(portfolio="D99999", **SBER, lot_quantity=1)


def test_estimates_value_the_order_and_follow_the_account(integrations_session):
    with integrations_session("alor") as s:
        client = s.client
        portfolio = client.portfolios[0]
        one = client.estimate_order(portfolio=portfolio, **SBER, price="280", lot_quantity=2, board="TQBR")
        assert isinstance(one, OrderEstimate)
        assert (one.portfolio, one.symbol, one.exchange, one.board) == (portfolio, "SBER", "MOEX", "TQBR")
        lot = _inst("SBER").lot
        assert one.order_evaluation == Decimal(280) * lot * 2
        assert one.commission == one.order_evaluation * Decimal("0.0005")
        assert one.buy_price is None  # only for a budget (the spec)
        assert one.not_margin_quantity_to_sell == 0  # nothing held yet
        assert one.quantity_to_buy >= one.not_margin_quantity_to_buy > 0
        client.market_order(portfolio=portfolio, **SBER, side="buy", quantity=3)
        by_budget, gazp = client.estimate_orders(
            [
                dict(portfolio=portfolio, **SBER, price=Decimal("280"), budget=Decimal(10000)),
                dict(portfolio=portfolio, exchange="MOEX", symbol="GAZP", include_limit_orders=True),
            ]
        )
        assert by_budget.not_margin_quantity_to_sell == 3  # the lots just bought
        assert by_budget.buy_price == 280
        assert by_budget.order_evaluation == 280 * lot * (10000 // (280 * lot))
        assert by_budget.not_margin_quantity_to_buy < one.not_margin_quantity_to_buy  # money was spent
        assert gazp.symbol == "GAZP" and gazp.order_evaluation > 0  # one lot at the market price
        with pytest.raises(NotFound):
            client.estimate_order(portfolio=portfolio, exchange="MOEX", symbol="NOSUCH", lot_quantity=1)


# -- live: stop orders on the simulated price --------------------------------------------------------


def _next_move(sb: Any, inst: Instrument, start: float) -> Tuple[float, Decimal, str]:
    """The first minute after ``start`` (within a week) at which the simulated price differs from
    its price at ``start``, that price, and the condition the move meets (``more``: up)."""
    price = sb.emulator.market.last_price(inst, start)
    for minute in range(1, 7 * 24 * 60):
        at = start + 60 * minute
        moved = sb.emulator.market.last_price(inst, at)
        if moved != price:
            return at, price, "more" if moved > price else "less"
    raise AssertionError(f"the simulated price of {inst.symbol} did not move within a week")


def test_live_a_stop_order_triggers_when_the_simulated_price_crosses_it(alor_sandbox, alor_live, clock):
    portfolio = alor_live.portfolios[0]
    inst = _inst("SBER")
    now = clock.now()
    # The trigger is the current price: the stop fires when the price first moves beyond it, at a
    # time read from the sandbox's own price path.
    crossed, trigger, condition = _next_move(alor_sandbox, inst, now)
    side = "buy" if condition == "more" else "sell"
    ack = alor_live.stop_order(
        portfolio=portfolio, **SBER, side=side, quantity=2, condition=condition, trigger_price=trigger
    )
    # One minute before the crossing the price has not moved: the stop keeps working.
    clock.advance(crossed - 60 - now)
    assert _order(alor_live, ack.order_number, portfolio, stop=True)["status"] == "working"
    clock.advance(60)
    stop = _order(alor_live, ack.order_number, portfolio, stop=True)
    assert stop["status"] == "filled" and stop["filled"] == 2
    placed = _order(alor_live, stop["exchangeOrderId"], portfolio)
    fill_price = alor_sandbox.emulator.market.last_price(inst, crossed)
    assert (placed["type"], placed["side"], placed["status"], placed["filled"]) == (
        "market",
        side,
        "filled",
        2,
    )
    assert Decimal(str(stop["avg_price"])) == fill_price != trigger
    assert (fill_price > trigger) == (condition == "more")
    # The fill is booked in the account at the crossing time.
    fills = [f for f in alor_sandbox.emulator.ledger.fills if f.order == placed["id"]]
    assert [(f.side, f.lots, f.price, f.at) for f in fills] == [(side, 2, fill_price, crossed)]


def test_live_a_stop_limit_order_places_its_limit_order_when_triggered(alor_sandbox, alor_live, clock):
    portfolio = alor_live.portfolios[0]
    inst = _inst("SBER")
    now = clock.now()
    crossed, trigger, condition = _next_move(alor_sandbox, inst, now)
    side = "buy" if condition == "more" else "sell"
    limit = HIGH * 2 if side == "buy" else LOW / 2  # marketable: filled as soon as it is placed
    ack = alor_live.stop_limit_order(
        portfolio=portfolio,
        **SBER,
        side=side,
        quantity=1,
        condition=condition,
        trigger_price=trigger,
        price=limit,
    )
    clock.advance(crossed - 60 - now)
    assert _order(alor_live, ack.order_number, portfolio, stop=True)["exchangeOrderId"] is None
    clock.advance(60)
    stop = _order(alor_live, ack.order_number, portfolio, stop=True)
    assert stop["status"] == "filled"
    placed = _order(alor_live, stop["exchangeOrderId"], portfolio)
    assert (placed["type"], placed["side"], placed["status"]) == ("limit", side, "filled")
    assert Decimal(str(placed["price"])) == limit


def test_live_inactive_stops_are_not_watched_and_stops_expire(alor_sandbox, alor_live, clock):
    portfolio = alor_live.portfolios[0]
    price = alor_sandbox.emulator.market.last_price(_inst("SBER"), clock.now())
    below = price - 100  # "more" than this is met at once
    order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1, condition="more", trigger_price=below)
    inactive = alor_live.stop_order(**order, activate=False)
    expiring = alor_live.stop_order(
        portfolio=portfolio,
        **SBER,
        side="sell",
        quantity=1,
        condition="less",
        trigger_price=price / 10,
        stop_end=int(clock.now()) + 60,
    )
    active = alor_live.stop_order(**order)
    assert _order(alor_live, active.order_number, portfolio, stop=True)["status"] == "filled"
    assert _order(alor_live, inactive.order_number, portfolio, stop=True)["status"] == "working"
    assert _order(alor_live, expiring.order_number, portfolio, stop=True)["status"] == "working"
    clock.advance(60)
    expired = _order(alor_live, expiring.order_number, portfolio, stop=True)
    assert expired["status"] == "canceled" and expired["exchangeOrderId"] is None
    assert _order(alor_live, inactive.order_number, portfolio, stop=True)["status"] == "working"


# -- live: retry safety ------------------------------------------------------------------------------


def _attempts(sb: Any, method: str, path: str) -> List[Any]:
    return [r for r in sb.requests() if r.method == method and r.path == path]


@pytest.mark.parametrize("kind", ["stop", "stopLimit"])
def test_live_a_stop_order_whose_reply_is_lost_is_placed_once(alor_sandbox, alor_live, kind):
    portfolio = alor_live.portfolios[0]
    before = alor_sandbox.emulator.orders_placed
    path = f"{ORDERS}/actions/{kind}"
    handle = alor_sandbox.faults.add(Fault.drop_reply(method="POST", path=path, times=1))
    order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1, condition="more", trigger_price=1000)
    ack = alor_live.stop_order(**order) if kind == "stop" else alor_live.stop_limit_order(**order, price=1001)
    assert handle.hits == 1
    first, second = _attempts(alor_sandbox, "POST", path)
    assert first.processed and first.request_id == second.request_id == ack.request_id
    assert alor_sandbox.emulator.orders_placed == before + 1
    assert _order(alor_live, ack.order_number, portfolio, stop=True)["status"] == "working"


@pytest.mark.parametrize("kind", ["limit", "stop", "stopLimit"])
def test_live_a_modify_whose_reply_is_lost_replaces_the_order_once(alor_sandbox, alor_live, kind):
    portfolio = alor_live.portfolios[0]
    order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1)
    stop = dict(condition="more", trigger_price=1000)
    if kind == "limit":
        placed = alor_live.limit_order(**order, price=100)
    elif kind == "stop":
        placed = alor_live.stop_order(**order, **stop)
    else:
        placed = alor_live.stop_limit_order(**order, **stop, price=1001)

    def modify() -> OrderAck:
        number = placed.order_number
        if kind == "limit":
            return alor_live.modify_limit_order(number, **order, price=101)
        if kind == "stop":
            return alor_live.modify_stop_order(number, **order, condition="more", trigger_price=999)
        return alor_live.modify_stop_limit_order(number, **order, **stop, price=1002)

    before = alor_sandbox.emulator.counts().commands
    path = f"{ORDERS}/actions/{kind}/{placed.order_number}"
    handle = alor_sandbox.faults.add(Fault.drop_reply(method="PUT", path=path, times=1))
    ack = modify()
    assert handle.hits == 1
    first, second = _attempts(alor_sandbox, "PUT", path)
    assert first.processed and first.request_id == second.request_id == ack.request_id
    # Replaced once: one command counted, and the replacement is the only working order.
    assert alor_sandbox.emulator.counts().commands == before + 1
    is_stop = kind != "limit"
    assert _order(alor_live, placed.order_number, portfolio, stop=is_stop)["status"] == "canceled"
    assert _order(alor_live, ack.order_number, portfolio, stop=is_stop)["status"] == "working"


def test_live_a_cancel_all_whose_reply_is_lost_is_retried_and_says_nothing_was_left(alor_sandbox, alor_live):
    portfolio = alor_live.portfolios[0]
    placed = alor_live.limit_order(portfolio=portfolio, **SBER, side="buy", quantity=1, price=100)
    before = alor_sandbox.emulator.counts().commands
    path = f"{ORDERS}/all"
    handle = alor_sandbox.faults.add(Fault.drop_reply(method="DELETE", path=path, times=1))
    ack = alor_live.cancel_all_orders(portfolio=portfolio, exchange="MOEX")
    assert handle.hits == 1 and len(_attempts(alor_sandbox, "DELETE", path)) == 2
    assert ack.nothing_to_cancel  # the first attempt cancelled it
    assert _order(alor_live, placed.order_number, portfolio)["status"] == "canceled"
    assert alor_sandbox.emulator.counts().commands == before + 1


def test_live_an_estimate_whose_reply_is_lost_is_retried(alor_sandbox, alor_live):
    path = f"{ORDERS}/estimate"
    alor_sandbox.faults.add(Fault.drop_reply(method="POST", path=path, times=1))
    estimate = alor_live.estimate_order(portfolio=alor_live.portfolios[0], **SBER, lot_quantity=1)
    assert estimate.order_evaluation > 0
    assert len(_attempts(alor_sandbox, "POST", path)) == 2


def test_live_the_sdks_post_modify_of_a_stop_order_is_accepted(alor_sandbox, alor_live):
    portfolio = alor_live.portfolios[0]
    order = dict(portfolio=portfolio, **SBER, side="buy", quantity=1)
    placed = alor_live.stop_order(**order, condition="more", trigger_price=1000)
    body = {
        "side": "buy",
        "quantity": 1,
        "condition": "More",
        "triggerPrice": 990,
        "instrument": {"symbol": "SBER", "exchange": "MOEX"},
        "user": {"portfolio": portfolio},
    }
    answer = alor_live.request("POST", f"{ORDERS}/actions/stop/{placed.order_number}", json=body)
    assert answer["message"] == "success" and answer["orderNumber"] != placed.order_number
    assert _order(alor_live, placed.order_number, portfolio, stop=True)["status"] == "canceled"


# -- live: the error answers this part adds (COMMANDS_ERRORS) ----------------------------------------


class Live:
    """Plain HTTP against the sandbox (the same helper as test_sandbox_documented_shapes.py's)."""

    def __init__(self, sb: Any, http: requests.Session) -> None:
        self.sb = sb
        self.http = http
        self.api = sb.base_urls["api"]
        self._token: Optional[str] = None
        self._ids = 0

    @property
    def token(self) -> str:
        if self._token is None:
            answer = self.http.post(
                self.sb.base_urls["oauth"] + "/refresh",
                params={"token": self.sb.credentials["refresh_token"]},
                timeout=TIMEOUT,
            )
            self._token = str(answer.json()["AccessToken"])
        return self._token

    def auth(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def new_id(self) -> str:
        self._ids += 1
        return f"commands-{self._ids}"

    def send(self, method: str, path: str, body: Any, reqid: bool = True) -> requests.Response:
        headers = {**self.auth(), "Content-Type": "application/json"}
        if reqid:
            headers["X-REQID"] = self.new_id()
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.http.request(
            method, f"{self.api}{ORDERS}{path}", data=data, headers=headers, timeout=TIMEOUT
        )


def _estimate(**extra: Any) -> Dict[str, Any]:
    return {"portfolio": "D39004", "ticker": "SBER", "exchange": "MOEX", **extra}


Trigger = Callable[[Live], Tuple[requests.Response, Dict[str, Any]]]
# Each error answer of COMMANDS_ERRORS, triggered (the lead merges these into the error-table test).
COMMANDS_TRIGGERS: Dict[str, Trigger] = {
    "modify_not_found": lambda s: (
        s.send(
            "PUT",
            "/actions/limit/1",
            {
                "side": "buy",
                "quantity": 1,
                "price": 100,
                "instrument": {"symbol": "SBER", "exchange": "MOEX"},
                "user": {"portfolio": "D39004"},
            },
        ),
        {},
    ),
    "estimate_parameters_missing": lambda s: (
        s.send("POST", "/estimate", {"portfolio": "D39004"}, False),
        {},
    ),
    "estimate_value_invalid": lambda s: (s.send("POST", "/estimate", _estimate(lotQuantity=0), False), {}),
    "estimate_instrument_unknown": lambda s: (
        s.send("POST", "/estimate", _estimate(ticker="NOSUCH"), False),
        {},
    ),
    "estimate_list_invalid": lambda s: (s.send("POST", "/estimate/all", [], False), {}),
}


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    with (
        sandbox.running("alor", seed=5, clock=ManualClock(1_701_105_939.395)) as sb,
        requests.Session() as http,
    ):
        yield Live(sb, http)


def test_every_error_answer_of_the_commands_has_a_trigger():
    assert list(COMMANDS_TRIGGERS) == list(COMMANDS_ERRORS)


@pytest.mark.parametrize("key", list(COMMANDS_ERRORS))
def test_live_each_commands_error_answer_is_what_the_sandbox_sends(live: Live, key: str) -> None:
    documented = COMMANDS_ERRORS[key]
    answer, fields = COMMANDS_TRIGGERS[key](live)
    assert answer.status_code == documented.status
    if documented.body is None:
        assert answer.content == b""
        return
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    expected = dict(documented.body)
    expected["message"] = str(expected["message"]).format(**fields)
    assert answer.json() == expected
