"""The ALOR emulator's order commands (issue 13): placing every order type, stop and stop-limit
orders triggering on the simulated price, modifying orders (PUT), estimating orders.

Called by :class:`~integrations_alor.sandbox.AlorEmulator`, which owns the lock, the clock, the order
store and the request-id deduplication (``AlorEmulator._create``, shared by creates and modifies).

Behaviour (WarpOpenAPIv2.yml and docs/reference/alor-api.md §5; assumptions marked):

* A market order fills at once at the best opposite price of the book. A limit order that is
  marketable when placed (buy at or above the simulated last price, sell at or below it) fills at
  once at the last price; otherwise it works, and fills at its own price at the first settle at
  which the last price reaches it (assumption: the whole quantity at once, no partial fills).
* Stop and stop-limit orders are watched at every settle, which runs before every read of orders,
  positions, trades or money and before every command: the condition is evaluated on
  ``emulator.market.last_price(inst, now)`` at that instant (assumption: a crossing that reverses
  between two settles is not seen, as a server polling prices would miss it). ``more``: last price
  above the trigger, ``moreorequal``: at or above, ``less``: below, ``lessorequal``: at or below (the
  spec's wording names the side of the current price the trigger is set on). Triggered, a stop
  places a market order filled at the last price, a stop-limit a limit order at its price (filled
  at once if marketable, as above); the stop order then shows ``status`` ``filled`` and
  ``exchangeOrderId`` the new order's number, and the new order is in the order list.
  ``activate=false`` stores the order without watching it; at ``stopEndUnixTime`` a working stop
  is ``canceled`` (the spec's statuses have no "expired"); ``protectingSeconds`` is stored and shown
  but not simulated (assumption). ``allowMargin`` is not checked: the spec requires it only of
  clients with the initial risk level, which the emulator does not model.
* A modify (``PUT .../actions/{kind}/{orderId}``, and ``POST`` for stop and stop-limit, as the SDK
  sends) is deduplicated by request id like a create. It needs a working order of that kind and
  portfolio (else 404), places the new order from the body (on FORTS with the original's side and
  symbol, which the spec says are ignored there), then cancels the original; the answer carries the
  new number. Filled market orders cannot be modified.
* An estimate values ``lotQuantity`` lots (one lot if neither it nor ``budget`` is given) at
  ``price`` or the last price; ``budget`` buys as many whole lots as it and the portfolio's money
  allow. From the ledger (:mod:`.sandbox_account`): ``notMarginQuantityToBuy`` is the lots the money
  pays for, ``quantityToBuy`` the lots its initial margin (``MARGIN_RATE`` of the volume) covers,
  ``notMarginQuantityToSell`` the lots held, ``quantityToSell`` those plus the margin quantity; the
  commission is the ledger's ``FEE_RATE`` (0.05 %, as the spec's example: 5.54 on 11080). The
  formulas are assumptions.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any, Callable, Optional

from integrations.sandbox.jsonapp import JsonError, JsonRequest, Reply

from .sandbox_account import FEE_RATE, MARGIN_RATE
from .sandbox_common import ERRORS, ErrorAnswer, JsonObj, Outcome, _answer, _ci, _error, _json
from .sandbox_data import CONDITIONS, TIME_IN_FORCE, Instrument, Order, positive_decimal

if TYPE_CHECKING:
    from integrations.sandbox import JsonApp

__all__ = ["COMMANDS_ERRORS", "install", "place", "settle"]

ORDERS_PATH = "/commandapi/warptrans/TRADE/v2/client/orders"
_CENT = Decimal("0.01")

COMMANDS_ERRORS: dict[str, ErrorAnswer] = {
    "modify_not_found": ErrorAnswer(
        "PUT (or POST) .../actions/{kind}/{orderId} for an order that is unknown, not working, of "
        "another kind or of another portfolio",
        404,
        None,
        "assumption",
        "The modify endpoints document a bodiless 404 'resource not found' (WarpOpenAPIv2.yml); that "
        "this is the answer for an unknown or finished order is assumed. It is remembered under the "
        "request id like any other answer.",
    ),
    "estimate_parameters_missing": ErrorAnswer(
        "POST .../orders/estimate(/all) with an order lacking portfolio, ticker or exchange",
        400,
        {"message": "portfolio, ticker and exchange are required"},
        "assumption",
        "The spec's estimate has no 400 answer; a 400 with only a message, like the command errors.",
    ),
    "estimate_value_invalid": ErrorAnswer(
        "POST .../orders/estimate(/all) whose lotQuantity is not a positive integer or whose price "
        "or budget is not a positive number",
        400,
        {"message": "lotQuantity must be a positive integer, price and budget positive numbers"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
    "estimate_instrument_unknown": ErrorAnswer(
        "POST .../orders/estimate(/all) for an unknown instrument or board",
        404,
        None,
        "assumption",
        "The estimate documents a bodiless 404 'resource not found' (WarpOpenAPIv2.yml).",
    ),
    "estimate_list_invalid": ErrorAnswer(
        "POST .../orders/estimate/all whose body is not a non-empty JSON array of objects (or "
        ".../estimate whose body is not an object)",
        400,
        {"message": "Request body must be an order object (estimate) or an array of them (estimate/all)"},
        "assumption",
        "Undocumented: a 400 with only a message.",
    ),
}
ERRORS.update(COMMANDS_ERRORS)

Execute = Callable[[Any, float], Outcome]


# -- placing ------------------------------------------------------------------------------------------


def place(emulator: Any, principal: Any, kind: str, data: JsonObj, now: float) -> Outcome:
    """Validate and store one order of ``kind`` (market, limit, stop, stoplimit) from the
    case-insensitive body ``data``; the caller holds the lock. A 403 answer stored nothing."""
    portfolio = _ci(data.get("user")).get("portfolio")
    if not isinstance(portfolio, str) or not portfolio:
        return _answer("portfolio_missing")
    if portfolio not in principal.portfolios:
        return _answer("portfolio_forbidden")
    side = data.get("side")
    side = side.lower() if isinstance(side, str) else ""
    if side not in ("buy", "sell"):
        return _answer("side_invalid")
    qty = data.get("quantity")
    if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
        return _answer("quantity_invalid")
    comment = data.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 100):
        return _answer("comment_invalid")
    tif = data.get("timeinforce") or "oneday"
    if not isinstance(tif, str) or tif.lower() not in TIME_IN_FORCE:
        return _answer("time_in_force_invalid")
    instrument = _ci(data.get("instrument"))
    symbol, exchange, group = (instrument.get(k) for k in ("symbol", "exchange", "instrumentgroup"))
    if not isinstance(symbol, str) or not isinstance(exchange, str):
        return _answer("instrument_missing")
    book = emulator._lookup(exchange, symbol, group if isinstance(group, str) else None)
    if book is None or book.instrument is None:
        return _answer("instrument_unknown", exchange=exchange, symbol=symbol)
    inst = book.instrument
    if inst.market not in emulator._markets_of.get(portfolio, frozenset()):
        return _answer(
            "market_mismatch",
            portfolio=portfolio,
            market=inst.market,
            exchange=inst.exchange,
            symbol=inst.symbol,
        )
    if kind == "market":
        price: Optional[Decimal] = (book.asks if side == "buy" else book.bids)[0][0]
    elif kind == "stop":
        price = Decimal(0)
    else:
        price = positive_decimal(data.get("price"))
    if price is None:
        return _answer("price_invalid")
    order = Order(
        str(emulator._next_order), kind, side, qty, price, portfolio, inst, comment, tif.lower(), now
    )
    if order.is_stop:
        order.trigger = positive_decimal(data.get("triggerprice"))
        condition = data.get("condition")
        order.condition = CONDITIONS.get(condition.lower(), "") if isinstance(condition, str) else ""
        if order.trigger is None or not order.condition:
            return _answer("stop_condition_invalid")
        protecting = data.get("protectingseconds", 15)
        if isinstance(protecting, bool) or not isinstance(protecting, int) or not 1 <= protecting <= 300:
            return _answer("protecting_seconds_invalid")
        order.protecting = protecting
        end = data.get("stopendunixtime")
        if isinstance(end, int) and not isinstance(end, bool) and end > 0:
            order.end = float(end)
        order.active = data.get("activate") is not False
    emulator._next_order += 1
    emulator._created += 1
    emulator._orders[order.number] = order
    if kind == "market":
        _fill(emulator, order, price, now)
    elif kind == "limit":
        _fill_if_marketable(emulator, order, now)
    return 200, {"message": "success", "orderNumber": order.number}


def _fill(emulator: Any, order: Order, price: Decimal, now: float) -> None:
    order.status, order.filled, order.updated = "filled", order.qty, now
    emulator.ledger.fill(
        portfolio=order.portfolio,
        inst=order.inst,
        side=order.side,
        lots=order.qty,
        price=price,
        order_number=order.number,
        at=now,
    )


def _fill_if_marketable(emulator: Any, order: Order, now: float) -> Optional[Decimal]:
    """Fill a new limit order at the last price if its price reaches it; the fill price or None."""
    last: Decimal = emulator.market.last_price(order.inst, now)
    if (order.side == "buy" and order.price >= last) or (order.side == "sell" and order.price <= last):
        _fill(emulator, order, last, now)
        return last
    return None


# -- settling -------------------------------------------------------------------------------------------


def _met(condition: str, last: Decimal, trigger: Decimal) -> bool:
    if condition == "More":
        return last > trigger
    if condition == "MoreOrEqual":
        return last >= trigger
    if condition == "Less":
        return last < trigger
    return last <= trigger  # LessOrEqual


def settle(emulator: Any, now: float) -> None:
    """Bring the orders up to ``now``: expire and trigger stop orders, fill working limit orders the
    last price reached. The caller holds the emulator's lock; every read of orders, positions,
    trades or money, and every command, settles first."""
    prices: dict[Instrument, Decimal] = {}

    def last(inst: Instrument) -> Decimal:
        if inst not in prices:
            prices[inst] = emulator.market.last_price(inst, now)
        return prices[inst]

    for order in list(emulator._orders.values()):
        if order.status != "working":
            continue
        if order.is_stop:
            if order.end is not None and now >= order.end:
                order.status, order.updated = "canceled", order.end
            elif (
                order.active
                and order.trigger is not None
                and _met(order.condition, last(order.inst), order.trigger)
            ):
                _trigger(emulator, order, last(order.inst), now)
        elif order.kind == "limit":
            price = last(order.inst)
            buy, sell = order.side == "buy", order.side == "sell"
            if (buy and price <= order.price) or (sell and price >= order.price):
                _fill(emulator, order, order.price, now)


def _trigger(emulator: Any, stop: Order, last: Decimal, now: float) -> None:
    """Place the order a triggered stop (market) or stop-limit (limit) order stands for."""
    kind = "market" if stop.kind == "stop" else "limit"
    price = last if kind == "market" else stop.price
    order = Order(
        str(emulator._next_order),
        kind,
        stop.side,
        stop.qty,
        price,
        stop.portfolio,
        stop.inst,
        stop.comment,
        stop.tif,
        now,
    )
    emulator._next_order += 1
    emulator._orders[order.number] = order
    if kind == "market":
        _fill(emulator, order, last, now)
        filled_at: Optional[Decimal] = last
    else:
        filled_at = _fill_if_marketable(emulator, order, now)
    stop.status, stop.updated, stop.exchange_order = "filled", now, order.number
    if filled_at is not None:
        stop.filled, stop.avg_price = stop.qty, filled_at


# -- modifying -------------------------------------------------------------------------------------------


def _modify(emulator: Any, request: JsonRequest, principal: Any, now: float) -> Outcome:
    """Replace a working order by a new one (the spec: cancel, then place with a new number)."""
    kind = request.params["kind"].lower()
    try:
        data = _ci(request.json(parse_float=Decimal))
    except JsonError:
        return _answer("body_not_json")
    portfolio = _ci(data.get("user")).get("portfolio")
    if not isinstance(portfolio, str) or not portfolio:
        return _answer("portfolio_missing")
    if portfolio not in principal.portfolios:
        return _answer("portfolio_forbidden")
    original = emulator._orders.get(request.params["order_id"])
    if (
        original is None
        or original.kind != kind
        or original.status != "working"
        or original.portfolio != portfolio
    ):
        return _answer("modify_not_found")
    if original.inst.market == "FORTS":
        # The spec: on FORTS a modify ignores side and symbol.
        data["side"] = original.side
        instrument = dict(_ci(data.get("instrument")))
        instrument["symbol"], instrument["exchange"] = original.inst.symbol, original.inst.exchange
        instrument["instrumentgroup"] = original.inst.board
        data["instrument"] = instrument
    outcome = place(emulator, principal, kind, data, now)
    if outcome[0] == 200 and original.status == "working":
        original.status, original.updated = "canceled", now
    return outcome


# -- estimating ------------------------------------------------------------------------------------------


def _position_lots(emulator: Any, portfolio: str, inst: Instrument) -> int:
    """Whole lots of ``inst`` the portfolio holds (the ledger's position; negative when short)."""
    holding = emulator.ledger.holdings(portfolio).get((inst.exchange, inst.symbol))
    return int(holding.units / inst.lot) if holding is not None else 0


def _lots(money: Decimal, lot_cost: Decimal) -> int:
    return int((money / lot_cost).to_integral_value(rounding=ROUND_DOWN))


def _number(value: Decimal) -> Any:
    """A money amount as a JSON number: an int when whole, else a float of the cent-rounded value."""
    value = value.quantize(_CENT)
    return int(value) if value == value.to_integral_value() else float(value)


def _estimate(emulator: Any, principal: Any, item: Any, now: float) -> Outcome:
    if not isinstance(item, dict):
        return _answer("estimate_list_invalid")
    data = _ci(item)
    portfolio, ticker, exchange = data.get("portfolio"), data.get("ticker"), data.get("exchange")
    if not (isinstance(portfolio, str) and isinstance(ticker, str) and isinstance(exchange, str)):
        return _answer("estimate_parameters_missing")
    if not (portfolio and ticker and exchange):
        return _answer("estimate_parameters_missing")
    if portfolio not in principal.portfolios:
        return _answer("portfolio_forbidden")
    board = data.get("board")
    book = emulator._lookup(exchange, ticker, board if isinstance(board, str) else None)
    if book is None or book.instrument is None:
        return _answer("estimate_instrument_unknown")
    inst = book.instrument
    lots, budget, given = data.get("lotquantity"), data.get("budget"), data.get("price")
    if lots is not None and (isinstance(lots, bool) or not isinstance(lots, int) or lots <= 0):
        return _answer("estimate_value_invalid")
    if (budget is not None and positive_decimal(budget) is None) or (
        given is not None and positive_decimal(given) is None
    ):
        return _answer("estimate_value_invalid")
    price = positive_decimal(given) or emulator.market.last_price(inst, now)
    factor = Decimal(inst.face) / 100 if inst.face else Decimal(1)
    lot_cost = price * inst.lot * factor
    power = max(emulator.ledger.cash(portfolio), Decimal(0))
    held = _position_lots(emulator, portfolio, inst)
    affordable = _lots(power, lot_cost)
    with_margin = _lots(power, lot_cost * MARGIN_RATE)
    budget_value = positive_decimal(budget)
    if budget_value is not None:
        count = _lots(min(budget_value, power), lot_cost)
    else:
        count = lots if lots is not None else 1
    evaluation = lot_cost * count
    return 200, {
        "portfolio": portfolio,
        "ticker": inst.symbol,
        "exchange": inst.exchange,
        "board": inst.board,
        "quantityToSell": max(held, 0) + with_margin,
        "quantityToBuy": with_margin,
        "notMarginQuantityToSell": max(held, 0),
        "notMarginQuantityToBuy": affordable,
        "orderEvaluation": _number(evaluation),
        "commission": _number(evaluation * FEE_RATE),
        "buyPrice": _number(price) if budget_value is not None else None,
        "isUnitedPortfolio": False,
    }


def _estimate_route(emulator: Any, many: bool) -> Callable[[JsonRequest], Reply]:
    def handler(request: JsonRequest) -> Reply:
        principal = request.principal
        try:
            body = request.json(parse_float=Decimal)
        except JsonError:
            return _error("body_not_json")
        items = body if many else [body]
        if not isinstance(items, list) or not items or (not many and not isinstance(body, dict)):
            return _error("estimate_list_invalid")
        now = emulator._clock.now()
        answers = []
        with emulator._lock:
            emulator.settle()
            for item in items:
                status, answer = _estimate(emulator, principal, item, now)
                if status != 200:
                    return _json(status, answer) if answer is not None else Reply(status)
                answers.append(answer)
        return _json(200, answers if many else answers[0])

    return handler


# -- routes ----------------------------------------------------------------------------------------------


def install(api: JsonApp, emulator: Any) -> None:
    """Add the command routes (modify, estimate) to the ``api`` service of ``emulator``."""

    def modify(request: JsonRequest) -> Reply:
        def execute(principal: Any, now: float) -> Outcome:
            return _modify(emulator, request, principal, now)

        reply: Reply = emulator._create(request, execute)
        return reply

    actions = ORDERS_PATH + "/actions/{kind:%s}/{order_id}"
    api.add("PUT", actions % "market|limit|stop|stoplimit", modify, auth=True)
    # The SDK sends stop and stop-limit modifications as POST (docs/reference/alor-api.md §5).
    api.add("POST", actions % "stop|stoplimit", modify, auth=True)
    api.add("POST", ORDERS_PATH + "/estimate", _estimate_route(emulator, False), auth=True)
    api.add("POST", ORDERS_PATH + "/estimate/all", _estimate_route(emulator, True), auth=True)
