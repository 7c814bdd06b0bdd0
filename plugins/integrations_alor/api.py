"""``AlorClient``: ALOR's typed facade. Every argument is validated before anything is sent."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from integrations.errors import NotFound, ProtocolError, Rejected, ValidationError
from integrations.transport import Request, TimeoutLike
from integrations.validation import json_value as _json_value
from integrations.validation import show as _show
from integrations.validation import timeouts as _timeouts

from .api_account import AccountMethods
from .api_commands import CommandMethods
from .api_market import MarketDataMethods
from .api_stream import StreamMethods
from .auth import decode_jwt_claims
from .base import AlorBase
from .checks import (
    _METHODS,
    _PORTFOLIO,
    _TICKER,
    FORMATS,
    ORDERS,
    PriceLike,
    _bool,
    _exchange,
    _int_in,
    _order_number,
    _path,
    _price,
    _query,
    _request_id,
    _token,
)
from .models import AlorAccount, CancelAck, OrderAck, OrderBook, structure_orderbook
from .provider import NAME

__all__ = ["AlorClient"]


class AlorClient(StreamMethods, AccountMethods, MarketDataMethods, CommandMethods, AlorBase):
    """ALOR through the plugin host. Thread-safe; authenticates lazily on the first call.

    Obtain one with ``integrations.connect(AlorClient, credentials={"refresh_token": ...})``.
    """

    provider_name = NAME

    # -- account -----------------------------------------------------------------------------

    @property
    def account(self) -> AlorAccount:
        """The account the JWT describes. Authenticates first if no token is held yet (through the
        call path: its deadline, its wrappers; a closed client raises)."""
        token = self._client.token()
        claims = token.claims or decode_jwt_claims(token.access)
        return AlorAccount(
            login=str(claims.get("sub", "")),
            client_id=str(claims.get("clientid", "")),
            portfolios=tuple(str(claims.get("portfolios", "")).split()),
            agreements=tuple(str(claims.get("agreements", "")).split()),
            expires_at=token.expires_at,
        )

    @property
    def portfolios(self) -> tuple[str, ...]:
        """The portfolios the JWT covers (its space-separated ``portfolios`` claim)."""
        return self.account.portfolios

    # -- market data -------------------------------------------------------------------------

    def orderbook(
        self,
        exchange: str,
        symbol: str,
        *,
        depth: int = 20,
        format: str = "Simple",  # noqa: A002 - the API's own parameter name
        instrument_group: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderBook:
        """The order book of ``exchange:symbol``; the same :class:`OrderBook` for every wire format.

        Raises :class:`ValidationError` (before sending) for a bad exchange, symbol, depth (1 to 50) or
        format; :class:`~integrations.errors.NotFound` for an unknown symbol.
        """
        timeouts = _timeouts(timeout)
        exchange = _exchange(exchange)
        symbol = _token(symbol, "symbol", _TICKER)
        depth = _int_in(depth, "depth", 1, 50)
        if not isinstance(format, str) or format.lower() not in FORMATS:
            raise ValidationError(f"format must be Simple, Slim or Heavy, not {_show(format)}")
        wire_format = FORMATS[format.lower()]
        params: dict[str, Any] = {"depth": depth, "format": wire_format}
        if instrument_group is not None:
            params["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        request = Request(
            "GET", f"/md/v2/orderbooks/{exchange}/{symbol}", params=params, operation=f"{NAME}.orderbook"
        )
        response = self._send(request, timeouts)
        return structure_orderbook(response.json(decimals=True), wire_format)

    # -- orders ------------------------------------------------------------------------------

    def market_order(
        self,
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Place a market order of ``quantity`` lots. Safe to retry: see :meth:`limit_order`."""
        timeouts = _timeouts(timeout)
        rid = _request_id(request_id)
        body = self._order_body(portfolio, exchange, symbol, side, quantity, comment, instrument_group)
        # The guide's own market-order body carries "type": "market" (the spec's schema does not
        # list it; the server ignores fields it does not know), so the request is sent as documented.
        body = {"side": body.pop("side"), "type": "market", **body}
        return self._command("market", body, rid, timeouts)

    def limit_order(
        self,
        *,
        portfolio: str,
        exchange: str,
        symbol: str,
        side: str,
        quantity: int,
        price: PriceLike,
        comment: Optional[str] = None,
        instrument_group: Optional[str] = None,
        request_id: Optional[str] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> OrderAck:
        """Place a limit order of ``quantity`` lots at ``price``.

        The command carries one request id (``request_id`` or a new one) in ``X-REQID`` and
        ``X-ALOR-REQID``; a retry after a timeout reuses it, and ALOR answers a repeat with the first
        attempt's result, so a retry never places a second order. Raises :class:`ValidationError`
        before sending for a bad side, quantity, price, symbol or portfolio.
        """
        timeouts = _timeouts(timeout)
        rid = _request_id(request_id)
        body = self._order_body(portfolio, exchange, symbol, side, quantity, comment, instrument_group)
        # Kept a Decimal: the transport writes it into the JSON body as a number.
        body["price"] = _price(price)
        return self._command("limit", body, rid, timeouts)

    def cancel_order(
        self,
        order_number: Union[str, int],
        *,
        portfolio: str,
        exchange: str,
        stop: bool = False,
        timeout: Optional[TimeoutLike] = None,
    ) -> CancelAck:
        """Cancel an order. Returns a :class:`CancelAck` only when ALOR answered with its documented
        success (``200``, text ``success``), or when the order is cancelled after all: a cancel whose
        reply was lost is retried, the retry finds nothing to cancel, and the order's own state then
        tells that the first attempt did it. Raises :class:`~integrations.errors.Rejected` (code
        ``OrderToCancelNotFound``) when there is no such working order, and
        :class:`~integrations.errors.ProtocolError` for any other answer (an HTML page, an empty
        body): a cancel is never reported done on a guess."""
        _timeouts(timeout)
        number = _order_number(order_number)
        params = {
            "portfolio": _token(portfolio, "portfolio", _PORTFOLIO),
            "exchange": _exchange(exchange),
            "stop": "true" if _bool(stop, "stop") else "false",
        }
        # Repeating a cancel never cancels twice, so it may be retried.
        request = Request(
            "DELETE",
            f"{ORDERS}/{number}",
            params=params,
            request_id=self._client.ctx.ids.new_id(),
            operation=f"{NAME}.cancel_order",
            retry=True,
        )
        try:
            response = self._send(request, timeout)
        except Rejected as exc:
            if not (exc.code or "").startswith("OrderToCancelNotFound"):
                raise
            if (
                self._order_status(number, params["portfolio"], params["exchange"], stop, timeout)
                != "canceled"
            ):
                raise
            return CancelAck(order_number=number, message="canceled")
        if response.status != 200 or response.text.strip() != "success":
            kind = response.headers.get("Content-Type", "no content type")
            raise ProtocolError(
                f"ALOR answered the cancel of order {number} with HTTP {response.status} and "
                f"{len(response.content)} bytes of {kind!r}, not its documented 'success': the "
                "order's state is unknown",
                provider=NAME,
                request_id=request.request_id,
            )
        return CancelAck(order_number=number, message="success")

    def _order_status(
        self, number: str, portfolio: str, exchange: str, stop: bool, timeout: Optional[TimeoutLike]
    ) -> Optional[str]:
        """The state ALOR reports for an order (``working``, ``filled``, ``canceled`` ...), or
        ``None`` when it knows no such order."""
        kind = "stoporders" if stop else "orders"
        request = Request(
            "GET",
            f"/md/v2/clients/{exchange}/{portfolio}/{kind}/{number}",
            params={"format": "Simple"},
            operation=f"{NAME}.order_status",
        )
        try:
            order = self._send(request, timeout).json()
        except NotFound:
            return None
        status = order.get("status") if isinstance(order, dict) else None
        return status if isinstance(status, str) else None

    # -- escape hatch ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        service: str = "api",
        params: Optional[Mapping[str, Any]] = None,
        json: Any = None,
        retry: Optional[bool] = None,
        timeout: Optional[TimeoutLike] = None,
    ) -> Any:
        """Call an endpoint that has no typed method yet; returns the decoded JSON (or the text
        when the body is not JSON). Authenticated, with the same refresh, deadline and error mapping.

        A GET may be retried after a failure whose outcome is unknown; any other method only with
        ``retry=True`` (say so only when ALOR deduplicates it by its ``X-REQID`` or repeating it is
        harmless). Otherwise such a failure raises an ``OperationFailed`` that says the outcome is
        unknown.

        Raises :class:`ValidationError` before sending for a path that is not a plain path below the
        service (``.``/``..`` or empty segments, ``?``, ``#``, control characters, even
        percent-encoded), an unknown ``service``, ``params`` that are not a dict of JSON scalars (or
        lists of them), and a ``json`` body that is not plain JSON (dict with string keys, list, str,
        64-bit int, finite float or Decimal, bool, None).
        """
        timeouts = _timeouts(timeout)
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise ValidationError(f"method must be GET, POST, PUT or DELETE, not {_show(method)}")
        path = _path(path)
        services = self._client.ctx.base_urls
        if not isinstance(service, str) or service not in services:
            raise ValidationError(
                f"service must be one of {', '.join(sorted(services))}, not {_show(service)}"
            )
        params = _query(params)
        _json_value(json, "json")
        if retry is not None and not isinstance(retry, bool):
            raise ValidationError(f"retry must be True, False or None, not {_show(retry)}")
        method = method.upper()
        request_id = self._client.ctx.ids.new_id() if method != "GET" else None
        request = Request(
            method,
            path,
            service=service,
            params=params,
            json=json,
            request_id=request_id,
            operation=f"{NAME}.request",
            retry=method == "GET" if retry is None else retry,
        )
        response = self._send(request, timeouts)
        try:
            return response.json(decimals=True)
        except ProtocolError:
            return response.text
