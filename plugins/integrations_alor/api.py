"""``AlorClient``: ALOR's typed facade. Every argument is validated before anything is sent."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Optional, Union

import attrs

from integrations.client import ProviderClient
from integrations.errors import ProtocolError, ValidationError
from integrations.transport import Request, Response, TimeoutLike, Timeouts

from .auth import decode_jwt_claims
from .models import AlorAccount, CancelAck, OrderAck, OrderBook, structure_orderbook
from .provider import NAME

__all__ = ["AlorClient"]

ORDERS = "/commandapi/warptrans/TRADE/v2/client/orders"
FORMATS = {"simple": "Simple", "slim": "Slim", "heavy": "Heavy"}
EXCHANGES = ("MOEX", "SPBX")
SIDES = ("buy", "sell")
MAX_QUANTITY = 2**31 - 1

_TICKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,49}")
_PORTFOLIO = re.compile(r"[A-Za-z0-9-]{1,32}")
_ORDER_NUMBER = re.compile(r"[0-9A-Za-z-]{1,64}")

PriceLike = Union[Decimal, int, float, str]


def _exchange(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in EXCHANGES:
        raise ValidationError(f"exchange must be one of {', '.join(EXCHANGES)}, not {value!r}")
    return value.upper()


def _token(value: Any, name: str, pattern: re.Pattern[str]) -> str:
    # Values go into URL paths, so anything beyond plain identifiers is refused outright.
    # fullmatch, not match: "$" would let a trailing newline through.
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValidationError(
            f"{name} must be a non-empty identifier (letters, digits, . _ -), not {value!r}"
        )
    return value


def _int_in(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    return value


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise ValidationError(f"price must be a number, not {value!r}")
    try:
        price = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"price must be a number, not {value!r}") from None
    if not price.is_finite() or price <= 0:
        raise ValidationError(f"price must be a positive finite number, not {value!r}")
    return price


def _side(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in SIDES:
        raise ValidationError(f"side must be 'buy' or 'sell', not {value!r}")
    return value.lower()


def _comment(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 100:
        raise ValidationError("comment must be a string of at most 100 characters")
    return value


class AlorClient(ProviderClient):
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
        exchange = _exchange(exchange)
        symbol = _token(symbol, "symbol", _TICKER)
        depth = _int_in(depth, "depth", 1, 50)
        if not isinstance(format, str) or format.lower() not in FORMATS:
            raise ValidationError(f"format must be Simple, Slim or Heavy, not {format!r}")
        wire_format = FORMATS[format.lower()]
        params: dict[str, Any] = {"depth": depth, "format": wire_format}
        if instrument_group is not None:
            params["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        request = Request(
            "GET", f"/md/v2/orderbooks/{exchange}/{symbol}", params=params, operation=f"{NAME}.orderbook"
        )
        response = self._send(request, timeout)
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
        body = self._order_body(portfolio, exchange, symbol, side, quantity, comment, instrument_group)
        # The guide's own market-order body carries "type": "market" (the spec's schema does not
        # list it; the server ignores fields it does not know), so the request is sent as documented.
        body = {"side": body.pop("side"), "type": "market", **body}
        return self._command("market", body, request_id, timeout)

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
        body = self._order_body(portfolio, exchange, symbol, side, quantity, comment, instrument_group)
        body["price"] = _price(price)
        return self._command("limit", body, request_id, timeout)

    def cancel_order(
        self,
        order_number: Union[str, int],
        *,
        portfolio: str,
        exchange: str,
        stop: bool = False,
        timeout: Optional[TimeoutLike] = None,
    ) -> CancelAck:
        """Cancel an order. Raises :class:`~integrations.errors.Rejected` (code
        ``OrderToCancelNotFound``) when there is no such working order."""
        number = _token(
            str(order_number) if isinstance(order_number, int) else order_number,
            "order_number",
            _ORDER_NUMBER,
        )
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
        response = self._send(request, timeout)
        return CancelAck(order_number=number, message=response.text.strip())

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
        """
        if not isinstance(method, str) or method.upper() not in ("GET", "POST", "PUT", "DELETE"):
            raise ValidationError(f"method must be GET, POST, PUT or DELETE, not {method!r}")
        if not isinstance(path, str) or not path.startswith("/") or "://" in path:
            raise ValidationError(f"path must start with '/', not {path!r}")
        if service not in self._client.ctx.base_urls:
            raise ValidationError(f"service must be one of {', '.join(sorted(self._client.ctx.base_urls))}")
        if retry is not None and not isinstance(retry, bool):
            raise ValidationError(f"retry must be True, False or None, not {retry!r}")
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
        response = self._send(request, timeout)
        try:
            return response.json(decimals=True)
        except ProtocolError:
            return response.text

    # -- internals ---------------------------------------------------------------------------

    def _send(self, request: Request, timeout: Optional[TimeoutLike]) -> Response:
        if timeout is not None:
            request = attrs.evolve(request, timeout=Timeouts.coerce(timeout))
        response: Response = self._client.call(request)
        return response

    def _order_body(
        self,
        portfolio: Any,
        exchange: Any,
        symbol: Any,
        side: Any,
        quantity: Any,
        comment: Any,
        instrument_group: Any,
    ) -> dict[str, Any]:
        instrument: dict[str, Any] = {
            "symbol": _token(symbol, "symbol", _TICKER),
            "exchange": _exchange(exchange),
        }
        if instrument_group is not None:
            instrument["instrumentGroup"] = _token(instrument_group, "instrument_group", _TICKER)
        body: dict[str, Any] = {
            "side": _side(side),
            "quantity": _int_in(quantity, "quantity", 1, MAX_QUANTITY),
            "instrument": instrument,
            "user": {"portfolio": _token(portfolio, "portfolio", _PORTFOLIO)},
        }
        comment = _comment(comment)
        if comment is not None:
            body["comment"] = comment
        return body

    def _command(
        self, kind: str, body: dict[str, Any], request_id: Optional[str], timeout: Optional[TimeoutLike]
    ) -> OrderAck:
        if request_id is not None and (not isinstance(request_id, str) or not 0 < len(request_id) <= 128):
            raise ValidationError("request_id must be a non-empty string of at most 128 characters")
        rid = request_id or self._client.ctx.ids.new_id()
        # ALOR deduplicates commands by X-REQID, so a command whose reply was lost is safe to send
        # again with the same id: the repeat is answered with the first attempt's result.
        request = Request(
            "POST",
            f"{ORDERS}/actions/{kind}",
            json=body,
            request_id=rid,
            operation=f"{NAME}.{kind}_order",
            retry=True,
        )
        answer = self._send(request, timeout).json()
        number = answer.get("orderNumber") if isinstance(answer, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str) or not number:
            raise ProtocolError(f"ALOR accepted the {kind} order without an orderNumber", request_id=rid)
        return OrderAck(order_number=number, message=str(answer.get("message", "")), request_id=rid)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, not {value!r}")
    return value
