"""``AlorClient``: ALOR's typed facade. Every argument is validated before anything is sent."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Optional, Union
from urllib.parse import unquote

import attrs

from integrations.client import ProviderClient
from integrations.errors import NotFound, ProtocolError, Rejected, ValidationError
from integrations.transport import Request, Response, TimeoutLike, Timeouts
from integrations.validation import json_value as _json_value
from integrations.validation import show as _show
from integrations.validation import timeouts as _timeouts

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
# ALOR order numbers are strings of decimal digits (a positive number: not all zeros).
_ORDER_NUMBER = re.compile(r"(?=[0-9]*[1-9])[0-9]{1,20}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_DESCRIPTIONS = {
    _ORDER_NUMBER.pattern: "a positive number of at most 20 decimal digits",
    _REQUEST_ID.pattern: "an identifier of at most 128 characters (letters, digits, . _ : -)",
    _PORTFOLIO.pattern: "an identifier of at most 32 characters (letters, digits, -)",
}
_METHODS = ("GET", "POST", "PUT", "DELETE")
_MAX_PATH = 2048

# A price is sent as a JSON number the exchange must be able to read back: finite, positive, with a
# sane number of significant digits and a sane magnitude (so 1e-400 is not sent as 0.0, nor 1e400
# as Infinity).
PRICE_MAX_DIGITS = 20
PRICE_MIN_EXPONENT = -12
PRICE_MAX_EXPONENT = 15

PriceLike = Union[Decimal, int, float, str]


def _exchange(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in EXCHANGES:
        raise ValidationError(f"exchange must be one of {', '.join(EXCHANGES)}, not {_show(value)}")
    return value.upper()


def _token(value: Any, name: str, pattern: re.Pattern[str]) -> str:
    # Values go into URL paths, headers and query strings, so anything beyond plain identifiers is
    # refused outright. fullmatch, not match: "$" would let a trailing newline through.
    if not isinstance(value, str) or not pattern.fullmatch(value):
        what = _DESCRIPTIONS.get(pattern.pattern, "a non-empty identifier (letters, digits, . _ -)")
        raise ValidationError(f"{name} must be {what}, not {_show(value)}")
    return value


def _order_number(value: Any) -> str:
    """An order number: a string of decimal digits, or a positive int (not a bool)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value < 10**20:
            raise ValidationError(
                f"order_number must be a positive number of at most 20 digits, not {_show(value)}"
            )
        return str(value)
    return _token(value, "order_number", _ORDER_NUMBER)


def _int_in(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{name} must be an integer from {low} to {high}, not {_show(value)}")
    return value


def _price(value: Any) -> Decimal:
    """A price as a :class:`Decimal`, kept exactly as given (a float via its shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, float, str)):
        raise ValidationError(f"price must be a number (Decimal, int, float or str), not {_show(value)}")
    if isinstance(value, str) and len(value) > 100:
        raise ValidationError("price must be a number of at most 100 characters")
    try:
        price = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValidationError(f"price must be a number, not {_show(value)}") from None
    if not price.is_finite() or price <= 0:
        raise ValidationError(f"price must be a positive finite number, not {_show(value)}")
    digits = price.as_tuple().digits
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
    if significant > PRICE_MAX_DIGITS:
        raise ValidationError(
            f"price has {significant} significant digits, more than the {PRICE_MAX_DIGITS} that can be "
            f"sent exactly: {_show(value)}"
        )
    if not PRICE_MIN_EXPONENT <= price.adjusted() <= PRICE_MAX_EXPONENT:
        raise ValidationError(
            f"price is out of range: its magnitude must be from 1e{PRICE_MIN_EXPONENT} to below "
            f"1e{PRICE_MAX_EXPONENT + 1} (its exponent is {price.adjusted()}): {_show(value)}"
        )
    return price


def _side(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in SIDES:
        raise ValidationError(f"side must be 'buy' or 'sell', not {_show(value)}")
    return value.lower()


def _comment(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 100 or not _printable(value):
        raise ValidationError(
            "comment must be a string of at most 100 characters, without control characters"
        )
    return value


def _printable(text: str) -> bool:
    """No control characters (C0, DEL, C1) and no lone surrogates (which cannot be encoded)."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _path(value: Any) -> str:
    """A path below a service's base URL: no scheme or host, no query or fragment, no ``.``/``..``
    segments or empty ones (``//``), no control characters, even percent-encoded."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > _MAX_PATH:
        raise ValidationError(
            f"path must start with '/' (at most {_MAX_PATH} characters), not {_show(value)}"
        )
    problem = None
    if not _printable(value) or not _printable(unquote(value)):
        problem = "control characters"
    elif "?" in value or "#" in value:
        problem = "'?' or '#' (pass query parameters as params=)"
    elif "\\" in value or any(c.isspace() for c in value):
        problem = "backslashes or spaces"
    else:
        segments = value[1:].split("/")
        for n, segment in enumerate(segments):
            decoded = unquote(segment)
            if decoded in (".", ".."):
                problem = "'.' or '..' segments"
            elif "/" in decoded or "\\" in decoded:
                problem = "percent-encoded slashes"
            elif not segment and n < len(segments) - 1:
                problem = "empty segments ('//')"
            if problem:
                break
    if problem:
        raise ValidationError(f"path must not contain {problem}: {_show(value)}")
    return value


def _query(value: Any) -> Optional[dict[str, Any]]:
    """Query parameters: a mapping of string keys to JSON scalars or lists of them (no nesting)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ValidationError(f"params must be a dict of query parameters, not {type(value).__name__}")
    params = dict(value)
    for key, item in params.items():
        if not isinstance(key, str) or not key or not _printable(key):
            raise ValidationError(
                f"params keys must be non-empty strings without control characters, not {_show(key)}"
            )
        for scalar in item if isinstance(item, (list, tuple)) else (item,):
            if isinstance(scalar, (dict, list, tuple)):
                raise ValidationError(f"params[{_show(key)}]: query parameters cannot nest")
            _json_value(scalar, f"params[{_show(key)}]")
    return params


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

    # -- internals ---------------------------------------------------------------------------

    def _send(self, request: Request, timeout: Optional[TimeoutLike]) -> Response:
        timeouts = _timeouts(timeout)
        if timeouts is not None:
            request = attrs.evolve(request, timeout=timeouts)
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
        self, kind: str, body: dict[str, Any], request_id: Optional[str], timeouts: Optional[Timeouts]
    ) -> OrderAck:
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
        answer = self._send(request, timeouts).json()
        number = answer.get("orderNumber") if isinstance(answer, dict) else None
        if isinstance(number, int) and not isinstance(number, bool):
            number = str(number)
        if not isinstance(number, str) or not number:
            raise ProtocolError(f"ALOR accepted the {kind} order without an orderNumber", request_id=rid)
        return OrderAck(order_number=number, message=str(answer.get("message", "")), request_id=rid)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, not {_show(value)}")
    return value


def _request_id(value: Any) -> Optional[str]:
    """An order command's own request id (``X-REQID``): ``None`` for a new one."""
    return None if value is None else _token(value, "request_id", _REQUEST_ID)
