"""ALOR order commands beyond market and limit orders: stop and stop-limit orders, modifying every
order type, cancelling all orders, estimating an order (issue 13).

Paths, bodies and answers are the spec's (WarpOpenAPIv2.yml, summarised in
docs/reference/alor-api.md §5). Every command that places or replaces an order carries one request
id in ``X-REQID`` and ``X-ALOR-REQID``: a retry after a failure whose outcome is unknown reuses it,
and ALOR answers a repeat with the first attempt's answer (a 400 with ``oldResponse``), so a retry
never places or replaces an order twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

from integrations._lazy import lazy_module
from integrations.errors import ProtocolError, Rejected, ValidationError
from integrations.transport import Request, TimeoutLike
from integrations.validation import show as _show
from integrations.validation import timeouts as _timeouts

from .base import AlorBase
from .checks import (
    _PORTFOLIO,
    _TICKER,
    MAX_QUANTITY,
    ORDERS,
    PriceLike,
    _bool,
    _exchange,
    _int_in,
    _order_number,
    _price,
    _request_id,
    _token,
)
from .models import OrderAck
from .provider import NAME

__all__ = ["CONDITIONS", "TIMES_IN_FORCE", "CommandMethods"]

#: A stop order's trigger condition, as the spec spells it (sent lower-case; given in any case).
CONDITIONS = ("more", "less", "moreorequal", "lessorequal")
#: ``timeInForce`` values (the spec's; ``oneday`` is the server's default).
TIMES_IN_FORCE = (
    "oneday",
    "immediateorcancel",
    "fillorkill",
    "attheclose",
    "goodtillcancelled",
    "bookorcancel",
)
# stopEndUnixTime is int64 seconds; anything past year 9999 is no date at all.
_MAX_UNIX = 253402300799
_ESTIMATE_ARGS = frozenset(
    {"portfolio", "exchange", "symbol", "price", "lot_quantity", "budget", "board", "include_limit_orders"}
)

if TYPE_CHECKING:
    from . import models_commands as _command_models
    from .models_commands import CancelAllAck, OrderEstimate
else:
    # Imported on first use: building the models' attrs classes costs milliseconds that a
    # process which never calls these methods should not pay.
    _command_models = lazy_module(__package__ + ".models_commands")


StopEnd = Union[dt.datetime, int]


# -- argument checks of these commands -----------------------------------------------------------


def _condition(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in CONDITIONS:
        raise ValidationError(
            f"condition must be one of More, Less, MoreOrEqual, LessOrEqual (any case), not {_show(value)}"
        )
    return value.lower()


def _time_in_force(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in TIMES_IN_FORCE:
        raise ValidationError(f"time_in_force must be one of {', '.join(TIMES_IN_FORCE)}, not {_show(value)}")
    return value.lower()


def _stop_end(value: Any) -> Optional[int]:
    """``stop_end``: an aware datetime or whole Unix seconds, sent as ``stopEndUnixTime``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError("stop_end must be an aware datetime (with a time zone), not a naive one")
        seconds = int(value.timestamp())
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    else:
        raise ValidationError(f"stop_end must be an aware datetime or Unix seconds (int), not {_show(value)}")
    if not 0 < seconds <= _MAX_UNIX:
        raise ValidationError(f"stop_end must be after 1970 and before year 10000, not {_show(value)}")
    return seconds


def _optional_bool(value: Any, name: str) -> Optional[bool]:
    return None if value is None else _bool(value, name)


def _optional_lots(value: Any, name: str, low: int = 1) -> Optional[int]:
    return None if value is None else _int_in(value, name, low, MAX_QUANTITY)


def _money(value: Any, name: str) -> Decimal:
    try:
        return _price(value)
    except ValidationError as exc:
        raise ValidationError(str(exc).replace("price", name, 1)) from None


class CommandMethods(AlorBase):
    """Commands: each carries its request id and is retried safely, as market and limit orders are."""

    # -- plumbing -------------------------------------------------------------------------------

    def _common_body(
        self,
        portfolio: Any,
        exchange: Any,
        symbol: Any,
        side: Any,
        quantity: Any,
        comment: Any,
        instrument_group: Any,
        allow_margin: Any,
    ) -> dict[str, Any]:
        body = self._order_body(portfolio, exchange, symbol, side, quantity, comment, instrument_group)
        margin = _optional_bool(allow_margin, "allow_margin")
        if margin is not None:
            body["allowMargin"] = margin
        return body

    @staticmethod
    def _stop_fields(
        body: dict[str, Any],
        condition: Any,
        trigger_price: Any,
        stop_end: Any,
        protecting_seconds: Any,
        activate: Any,
    ) -> None:
        body["condition"] = _condition(condition)
        body["triggerPrice"] = _money(trigger_price, "trigger_price")
        end = _stop_end(stop_end)
        if end is not None:
            body["stopEndUnixTime"] = end
        if protecting_seconds is not None:
            body["protectingSeconds"] = _int_in(protecting_seconds, "protecting_seconds", 1, 300)
        body["activate"] = _bool(activate, "activate")

    @staticmethod
    def _limit_fields(
        body: dict[str, Any],
        price: Any,
        time_in_force: Any,
        iceberg_fixed: Any,
        iceberg_variance: Any,
        *,
        variance_allowed: bool = True,
    ) -> None:
        body["price"] = _price(price)
        tif = _time_in_force(time_in_force)
        if tif is not None:
            body["timeInForce"] = tif
        fixed = _optional_lots(iceberg_fixed, "iceberg_fixed")
        if fixed is not None:
            body["icebergFixed"] = fixed
        if variance_allowed:
            variance = _optional_lots(iceberg_variance, "iceberg_variance", 0)
            if variance is not None:
                body["icebergVariance"] = variance

    # -- stop and stop-limit orders -------------------------------------------------------------

    def stop_order(
        self,
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        condition: str,
        trigger_price: PriceLike,
        stop_end: Optional[StopEnd] = None,
        protecting_seconds: Optional[int] = None,
        activate: bool = True,
        allow_margin: Optional[bool] = None,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Place a stop (stop-market) order: when the market price meets ``condition`` against
        ``trigger_price`` (``more``: rises above it, ``moreorequal``: reaches it or more, ``less``:
        falls below it, ``lessorequal``: reaches it or less), a market order of ``quantity`` lots is
        placed. ``POST .../actions/stop``.

        ``stop_end`` (an aware datetime or Unix seconds) ends the order's life; ``protecting_seconds``
        (1 to 300) is how long the condition must hold; ``activate=False`` stores the order without
        watching it. ``allow_margin`` is sent as given (``None``: not sent); the spec says it must be
        ``True`` for conditional orders of clients with the initial risk level, which the client
        cannot know, so it is not forced. Safe to retry: the request id (``request_id`` or a new one)
        is reused, and a repeat is answered with the first attempt's answer. Raises
        :class:`ValidationError` before sending for any bad argument. The answer's ``order_number``
        is the stop order's number (list it with ``stoporders``, cancel it with ``stop=True``)."""
        timeouts = _timeouts(timeout)
        rid = _request_id(request_id)
        body = self._common_body(
            portfolio, exchange, symbol, side, quantity, comment, instrument_group, allow_margin
        )
        self._stop_fields(body, condition, trigger_price, stop_end, protecting_seconds, activate)
        return self._command("stop", body, rid, timeouts, method="POST", operation="stop_order")

    def stop_limit_order(
        self,
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        condition: str,
        trigger_price: PriceLike,
        price: PriceLike,
        stop_end: Optional[StopEnd] = None,
        protecting_seconds: Optional[int] = None,
        activate: bool = True,
        time_in_force: Optional[str] = None,
        iceberg_fixed: Optional[int] = None,
        iceberg_variance: Optional[int] = None,
        allow_margin: Optional[bool] = None,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Place a stop-limit order: as :meth:`stop_order`, but what is placed when the condition is
        met is a limit order at ``price`` (with ``time_in_force`` and the optional iceberg fields:
        ``iceberg_fixed`` lots visible, ``iceberg_variance`` their variation in percent).
        ``POST .../actions/stopLimit``. Safe to retry, validated before sending."""
        timeouts = _timeouts(timeout)
        rid = _request_id(request_id)
        body = self._common_body(
            portfolio, exchange, symbol, side, quantity, comment, instrument_group, allow_margin
        )
        self._stop_fields(body, condition, trigger_price, stop_end, protecting_seconds, activate)
        self._limit_fields(body, price, time_in_force, iceberg_fixed, iceberg_variance)
        return self._command("stopLimit", body, rid, timeouts, method="POST", operation="stop_limit_order")

    # -- modifying orders ------------------------------------------------------------------------

    def modify_market_order(
        self,
        order_number: Union[str, int],
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        time_in_force: Optional[str] = None,
        allow_margin: Optional[bool] = None,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Modify a working market order: ``PUT .../actions/market/{orderId}``.

        **A modify cancels the original order and places a new one**: the answer's ``order_number``
        is the NEW order's number (the spec); the original is then cancelled. On FORTS ALOR ignores
        ``side`` and ``symbol`` in a modify. Safe to retry (one request id on every attempt: the
        order is replaced once). Raises :class:`ValidationError` before sending."""
        timeouts = _timeouts(timeout)
        number = _order_number(order_number)
        rid = _request_id(request_id)
        body = self._common_body(
            portfolio, exchange, symbol, side, quantity, comment, instrument_group, allow_margin
        )
        tif = _time_in_force(time_in_force)
        if tif is not None:
            body["timeInForce"] = tif
        return self._command(
            f"market/{number}", body, rid, timeouts, method="PUT", operation="modify_market_order"
        )

    def modify_limit_order(
        self,
        order_number: Union[str, int],
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        price: PriceLike,
        iceberg_fixed: Optional[int] = None,
        allow_margin: Optional[bool] = None,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Modify a working limit order: ``PUT .../actions/limit/{orderId}`` (the spec's body has no
        ``timeInForce`` nor ``icebergVariance``). The original is cancelled and a new order placed:
        the answer's ``order_number`` is the NEW number. Safe to retry, validated before sending."""
        timeouts = _timeouts(timeout)
        number = _order_number(order_number)
        rid = _request_id(request_id)
        body = self._common_body(
            portfolio, exchange, symbol, side, quantity, comment, instrument_group, allow_margin
        )
        self._limit_fields(body, price, None, iceberg_fixed, None, variance_allowed=False)
        return self._command(
            f"limit/{number}", body, rid, timeouts, method="PUT", operation="modify_limit_order"
        )

    def modify_stop_order(
        self,
        order_number: Union[str, int],
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        condition: str,
        trigger_price: PriceLike,
        stop_end: Optional[StopEnd] = None,
        protecting_seconds: Optional[int] = None,
        activate: bool = True,
        allow_margin: Optional[bool] = None,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Modify a working stop order: ``PUT .../actions/stop/{stopOrderId}`` with the body of
        :meth:`stop_order`. The original is cancelled and a new stop order placed: the answer's
        ``order_number`` is the NEW number. Safe to retry, validated before sending."""
        timeouts = _timeouts(timeout)
        number = _order_number(order_number)
        rid = _request_id(request_id)
        body = self._common_body(
            portfolio, exchange, symbol, side, quantity, comment, instrument_group, allow_margin
        )
        self._stop_fields(body, condition, trigger_price, stop_end, protecting_seconds, activate)
        return self._command(
            f"stop/{number}", body, rid, timeouts, method="PUT", operation="modify_stop_order"
        )

    def modify_stop_limit_order(
        self,
        order_number: Union[str, int],
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        condition: str,
        trigger_price: PriceLike,
        price: PriceLike,
        stop_end: Optional[StopEnd] = None,
        protecting_seconds: Optional[int] = None,
        activate: bool = True,
        time_in_force: Optional[str] = None,
        iceberg_fixed: Optional[int] = None,
        allow_margin: Optional[bool] = None,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Modify a working stop-limit order: ``PUT .../actions/stopLimit/{stopOrderId}`` (the spec's
        body has no ``icebergVariance``). The original is cancelled and a new stop-limit order
        placed: the answer's ``order_number`` is the NEW number. Safe to retry, validated before
        sending."""
        timeouts = _timeouts(timeout)
        number = _order_number(order_number)
        rid = _request_id(request_id)
        body = self._common_body(
            portfolio, exchange, symbol, side, quantity, comment, instrument_group, allow_margin
        )
        self._stop_fields(body, condition, trigger_price, stop_end, protecting_seconds, activate)
        self._limit_fields(body, price, time_in_force, iceberg_fixed, None, variance_allowed=False)
        return self._command(
            f"stopLimit/{number}", body, rid, timeouts, method="PUT", operation="modify_stop_limit_order"
        )

    # -- cancelling all ---------------------------------------------------------------------------

    def cancel_all_orders(
        self,
        *,
        portfolio: str,
        exchange: str,
        stop: Optional[bool] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> CancelAllAck:
        """Cancel every working order of ``portfolio`` on ``exchange``: ``DELETE .../orders/all``.
        ``stop=None`` (not sent) cancels regular and stop orders alike, ``True`` only stop orders,
        ``False`` only regular ones.

        Returns a :class:`~integrations_alor.models_commands.CancelAllAck` in both documented
        outcomes: ``200 success`` (``nothing_to_cancel=False``) and the spec's ``400
        OrderToCancelNotFound`` "Orders to cancel not found" (``nothing_to_cancel=True``, not an
        error: afterwards no matching order is working, which is what was asked). So it is safe to
        retry after a lost reply: a retry that finds nothing left answers ``nothing_to_cancel``.
        Any other 400 raises :class:`~integrations.errors.Rejected`; an answer that is neither
        raises :class:`~integrations.errors.ProtocolError`."""
        timeouts = _timeouts(timeout)
        params: dict[str, Any] = {
            "portfolio": _token(portfolio, "portfolio", _PORTFOLIO),
            "exchange": _exchange(exchange),
        }
        flag = _optional_bool(stop, "stop")
        if flag is not None:
            params["stop"] = "true" if flag else "false"
        request = Request(
            "DELETE",
            f"{ORDERS}/all",
            params=params,
            request_id=self._client.ctx.ids.new_id(),
            operation=f"{NAME}.cancel_all_orders",
            retry=True,  # a repeat never cancels anything twice
        )
        ack = _command_models.CancelAllAck(params["portfolio"], params["exchange"], flag, False, "success")
        try:
            response = self._send(request, timeouts)
        except Rejected as exc:
            if exc.status != 400 or not (exc.code or "").startswith("OrderToCancelNotFound"):
                raise
            return _command_models.CancelAllAck(
                params["portfolio"], params["exchange"], flag, True, exc.message or str(exc.code)
            )
        # The spec types the 200 body as a JSON string "success"; the contour sends it as text.
        if response.status != 200 or response.text.strip().strip('"') != "success":
            raise ProtocolError(
                f"ALOR answered cancel-all with HTTP {response.status} and {len(response.content)} "
                "bytes, not its documented 'success': which orders are cancelled is unknown",
                provider=NAME,
                request_id=request.request_id,
            )
        return ack

    # -- estimates ----------------------------------------------------------------------------------

    def estimate_order(
        self,
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        price: Optional[PriceLike] = None,
        lot_quantity: Optional[int] = None,
        budget: Optional[PriceLike] = None,
        board: Optional[str] = None,
        include_limit_orders: Optional[bool] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderEstimate:
        """Estimate an order of ``symbol`` for ``portfolio``: ``POST .../orders/estimate``.

        Give ``lot_quantity`` (the order's lots) or ``budget`` (money to spend: the answer says how
        many lots it buys, and ``buy_price``), not both (the spec calls that meaningless, so it is
        refused); ``price`` defaults to the market price. Read-only (no request id), so retried after
        a failure whose outcome is unknown. Raises :class:`ValidationError` before sending."""
        timeouts = _timeouts(timeout)
        body = self._estimate_body(
            portfolio=portfolio,
            exchange=exchange,
            symbol=symbol,
            price=price,
            lot_quantity=lot_quantity,
            budget=budget,
            board=board,
            include_limit_orders=include_limit_orders,
        )
        request = Request(
            "POST", f"{ORDERS}/estimate", json=body, operation=f"{NAME}.estimate_order", retry=True
        )
        return _command_models.structure_estimate(self._send(request, timeouts).json(decimals=True))

    def estimate_orders(
        self, orders: Sequence[Mapping[str, Any]], *, timeout: Optional[TimeoutLike] = None
    ) -> tuple[OrderEstimate, ...]:
        """Estimate several orders at once: ``POST .../orders/estimate/all``. ``orders`` is a
        non-empty sequence of dicts with :meth:`estimate_order`'s keyword arguments (``portfolio``,
        ``exchange``, ``symbol``, optional ``price``, ``lot_quantity``, ``budget``, ``board``,
        ``include_limit_orders``). Returns one estimate per order, in order. Read-only: retried.
        Raises :class:`ValidationError` before sending (naming the order's index)."""
        timeouts = _timeouts(timeout)
        if isinstance(orders, (str, bytes, Mapping)) or not isinstance(orders, Sequence) or not orders:
            raise ValidationError("orders must be a non-empty list of dicts of estimate_order arguments")
        bodies = []
        for index, order in enumerate(orders):
            if not isinstance(order, Mapping):
                raise ValidationError(f"orders[{index}] must be a dict, not {_show(order)}")
            unknown = sorted(str(k) for k in order if k not in _ESTIMATE_ARGS)
            if unknown:
                raise ValidationError(f"orders[{index}]: unknown argument(s) {', '.join(unknown)}")
            try:
                bodies.append(self._estimate_body(**order))
            except TypeError:
                raise ValidationError(f"orders[{index}] needs portfolio, exchange and symbol") from None
            except ValidationError as exc:
                raise ValidationError(f"orders[{index}]: {exc}") from None
        request = Request(
            "POST", f"{ORDERS}/estimate/all", json=bodies, operation=f"{NAME}.estimate_orders", retry=True
        )
        answer = self._send(request, timeouts).json(decimals=True)
        if not isinstance(answer, list) or len(answer) != len(bodies):
            raise ProtocolError(
                f"ALOR answered an estimate of {len(bodies)} orders with "
                f"{len(answer) if isinstance(answer, list) else 'no list of'} estimates",
                provider=NAME,
            )
        return tuple(_command_models.structure_estimate(item) for item in answer)

    @staticmethod
    def _estimate_body(
        *,
        portfolio: Any,
        exchange: Any,
        symbol: Any,
        price: Any = None,
        lot_quantity: Any = None,
        budget: Any = None,
        board: Any = None,
        include_limit_orders: Any = None,
    ) -> dict[str, Any]:
        # The spec's object_EstimateOrder (WarpOpenAPIv2.yml): the symbol is "ticker" there.
        body: dict[str, Any] = {
            "portfolio": _token(portfolio, "portfolio", _PORTFOLIO),
            "ticker": _token(symbol, "symbol", _TICKER),
            "exchange": _exchange(exchange),
        }
        if price is not None:
            body["price"] = _price(price)
        if lot_quantity is not None and budget is not None:
            raise ValidationError("give lot_quantity or budget, not both")
        if lot_quantity is not None:
            body["lotQuantity"] = _int_in(lot_quantity, "lot_quantity", 1, MAX_QUANTITY)
        if budget is not None:
            body["budget"] = _money(budget, "budget")
        if board is not None:
            body["board"] = _token(board, "board", _TICKER)
        flag = _optional_bool(include_limit_orders, "include_limit_orders")
        if flag is not None:
            body["includeLimitOrders"] = flag
        return body
